//! Cohorte: collective accompaniments on the socio-economic model, for French DLAs.
//!
//! Layers, from the outside in: `web` (pages and API, thin handlers) and `jobs` (the
//! dispatcher and its hooks) → `models` (rows, inputs, queries) → `mail` (rendering and
//! sending, no database) and `db` (pool, migrations, backend) — and `domain`, pure rules
//! with no I/O that every layer may call. See docs/ARCHITECTURE.md.

pub mod bench_data;
pub mod config;
pub mod db;
pub mod demo;
pub mod demo_profiles;
pub mod domain;
pub mod error;
pub mod export;
pub mod jobs;
pub mod mail;
pub mod memory;
pub mod models;
pub mod private_files;
pub mod templates;
pub mod web;
