//! The état des lieux form: flat HTML/JSON fields <-> `domain::profile::Profile`, with French
//! messages per field.
