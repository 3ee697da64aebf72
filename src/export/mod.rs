//! Files that leave Cohorte to be opened elsewhere (spreadsheets): `csv`.

pub mod csv;
