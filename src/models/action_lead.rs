//! Pistes d'actions of an association (`action_leads`).
