//! The consultant's contract of a cohort (`cohort_budgets`) and its funders (`cohort_funders`); arithmetic in `domain::budget`.
//!
//! A cohort without a `cohort_budgets` row has the default contract
//! (`Contract::default_for`: 12 days for 8 associations, prorated, at
//! [`DEFAULT_DAY_RATE_CENTS`], 7 h days); it is stored the first time someone saves it.
//! The funders list is replaced as a whole; since it has no version column, its version is
//! a fingerprint of the stored rows ([`funders_version`]), so that two people saving the
//! list from forms opened at the same time do not overwrite each other silently.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::in_list;
use crate::db::schema::{cohort_budgets, cohort_funders};
use crate::db::{Conn, Tx};
use crate::domain::Warning;
use crate::domain::budget::{
    self, Contract, DayLength, Funder, TimeAmount, TimeKind, TimeTotals, budget_warnings,
    parse_hours, parse_percent, planned_time, split_among_funders, split_cents, time_totals,
    validate_funders,
};
use crate::domain::programme::{ProgrammeTemplate, SessionKind};
use crate::error::{AppError, FieldErrors};
use crate::models::input::{Check, lenient, new_id};
use crate::models::{
    check_inserted, check_updated, check_version, cohort, dla, session, stale, time_entry,
};

/// Day rate of a cohort that has no contract yet: 650,00 € (shown as such on the page).
pub const DEFAULT_DAY_RATE_CENTS: i64 = 65_000;
/// Number of funder rows the form offers; blank rows are ignored.
pub const FUNDER_ROWS: usize = 5;

#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = cohort_budgets)]
pub struct BudgetRow {
    pub cohort_id: String,
    pub contracted_half_days: i32,
    pub day_rate_cents: i64,
    pub day_minutes: i32,
    pub version: i32,
    #[serde(with = "crate::models::utc")]
    #[schema(value_type = String, format = DateTime)]
    #[diesel(deserialize_as = crate::db::Stamp)]
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = cohort_funders)]
pub struct FunderRow {
    pub id: String,
    pub cohort_id: String,
    pub name: String,
    /// Set when the funder is one of the instance's DLAs.
    pub dla_id: Option<String>,
    /// Share in basis points (3 333 = 33,33 %).
    pub share_bp: i32,
    pub position: i32,
}

impl FunderRow {
    pub fn funder(&self) -> Funder {
        Funder {
            name: self.name.clone(),
            share_bp: self.share_bp.max(0) as u32,
        }
    }
}

/// The contract as typed in the form or sent by a client.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ContractInput {
    /// Contracted consultant days, by half-days: « 12 », « 10,5 ».
    #[serde(default, deserialize_with = "lenient")]
    pub contracted_days: String,
    /// Price of one day in euros: « 650 », « 650,00 € », « 1 250,50 ».
    #[serde(default, deserialize_with = "lenient")]
    pub day_rate: String,
    /// Length of a consultant day, for time entered in hours: « 7 », « 7 h 30 » (default 7 h).
    #[serde(default, deserialize_with = "lenient")]
    pub day_length: String,
    /// The contract's version read before editing (`0` when none was stored yet).
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

impl ContractInput {
    /// The form's values for a contract.
    pub fn from_contract(c: &Contract, version: i32) -> Self {
        ContractInput {
            contracted_days: crate::domain::fr::half_days_figure(c.contracted_half_days),
            day_rate: euros_text(c.day_rate_cents),
            day_length: time_entry::hours_text(c.day_length.minutes()),
            version: version.to_string(),
        }
    }

    /// Turns the input into a contract; field errors keyed `contracted_days`, `day_rate`,
    /// `day_length`.
    pub fn check(&self) -> Result<Contract, AppError> {
        let mut c = Check::new();
        let days = strip_unit(&self.contracted_days, &["jours", "jour", "j"]);
        let half_days = if days.is_empty() {
            c.add("contracted_days", "Indiquez le nombre de jours contractés.");
            None
        } else {
            match hundredths(&days) {
                Some(h) if h % 50 == 0 => Some(h / 50),
                _ => {
                    c.add(
                        "contracted_days",
                        "Indiquez un nombre de jours par demi-journées, par exemple 12 ou 10,5.",
                    );
                    None
                }
            }
        };
        let rate_text = strip_unit(&self.day_rate, &["€", "euros", "eur"]);
        let rate = if rate_text.is_empty() {
            c.add("day_rate", "Indiquez le prix d'une journée de consultant.");
            None
        } else {
            let cents = hundredths(&rate_text);
            if cents.is_none() {
                c.add(
                    "day_rate",
                    "Prix illisible : écrivez par exemple « 650 » ou « 650,00 € ».",
                );
            }
            cents
        };
        let day_length = if self.day_length.trim().is_empty() {
            Some(DayLength::STANDARD)
        } else {
            match parse_hours(&self.day_length).map(DayLength::from_minutes) {
                Some(Ok(d)) => Some(d),
                Some(Err(message)) => {
                    c.add("day_length", message);
                    None
                }
                None => {
                    c.add(
                        "day_length",
                        "Durée illisible : écrivez par exemple « 7 » ou « 7 h 30 ».",
                    );
                    None
                }
            }
        };
        let mut contract = None;
        if let (Some(h), Some(r), Some(d)) = (half_days, rate, day_length) {
            let candidate = Contract {
                contracted_half_days: h,
                day_rate_cents: r,
                day_length: d,
            };
            if let Err(errors) = candidate.validate() {
                for (field, message) in errors {
                    let field = match field.as_str() {
                        "contracted_half_days" => "contracted_days",
                        "day_rate_cents" => "day_rate",
                        _ => "day_length",
                    };
                    c.add(field, message);
                }
            }
            contract = Some(candidate);
        }
        c.finish()?;
        Ok(contract.expect("checked"))
    }
}

/// One funder as typed: a name, a share in %, and optionally the DLA it is.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct FunderInput {
    /// Defaults to the DLA's name when a DLA is chosen.
    #[serde(default, deserialize_with = "lenient")]
    pub name: String,
    /// Share in percent: « 50 », « 33,33 », « 12.5 % ».
    #[serde(default, deserialize_with = "lenient")]
    pub share: String,
    #[serde(default, deserialize_with = "lenient")]
    pub dla_id: String,
}

impl FunderInput {
    fn is_blank(&self) -> bool {
        self.name.trim().is_empty() && self.share.trim().is_empty() && self.dla_id.trim().is_empty()
    }
}

/// The whole funders list. Blank rows are ignored; errors are keyed by the row's index
/// in `funders`: `funders[2].share`, `funders[0].name`, `funders[1].dla_id`, and
/// `funders` for the list as a whole (shares not totalling 100 %).
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct FundersInput {
    #[serde(default)]
    pub funders: Vec<FunderInput>,
    /// The list's version read before editing ([`funders_version`]); empty = no check.
    #[serde(default, deserialize_with = "lenient")]
    pub version: String,
}

/// A change of the budget through the API: the contract, the funders, or both.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct BudgetInput {
    pub contract: Option<ContractInput>,
    pub funders: Option<FundersInput>,
}

/// The contract in force.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ContractView {
    pub contracted_half_days: i64,
    pub day_rate_cents: i64,
    /// Length of a consultant day in minutes (420 = 7 h).
    pub day_minutes: i64,
    /// False while the cohort uses the default contract (nothing stored yet).
    pub recorded: bool,
    /// 0 while nothing is stored.
    pub version: i32,
}

/// A funder with its part of the cost.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FunderShare {
    /// Empty for a proposal not saved yet.
    pub id: String,
    pub name: String,
    pub dla_id: Option<String>,
    pub share_bp: u32,
    /// Part of the contract's cost, to the cent; the parts add up to `cost_cents`.
    pub cost_cents: i64,
}

/// Everything the budget page and `GET /api/v1/cohorts/{id}/budget` show.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BudgetOverview {
    pub cohort_id: String,
    pub associations: u32,
    pub contract: ContractView,
    /// Contracted days × day rate, in cents.
    pub cost_cents: i64,
    /// The stored funders, in order, with their part of the cost.
    pub funders: Vec<FunderShare>,
    /// Version of the funders list, to send back with a change.
    pub funders_version: String,
    /// When no funder is stored: the owning DLA at 100 %, or the owning and partner DLAs
    /// in equal shares (not saved).
    pub proposed_funders: Vec<FunderShare>,
    /// Planned (programme), logged (time entries) and remaining time, in minutes, in
    /// total and per kind.
    #[schema(value_type = Object)]
    pub totals: TimeTotals,
    /// `contract_too_small`, `over_contract`, `funders_incomplete`.
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<Warning>,
}

// ---- parsing helpers ----------------------------------------------------------

/// Removes spaces (including no-break ones) and a trailing unit.
fn strip_unit(s: &str, units: &[&str]) -> String {
    let s: String = s
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    units
        .iter()
        .find_map(|u| s.strip_suffix(u).map(str::to_owned))
        .unwrap_or(s)
}

/// "10,5" / "650.00" / "12" → hundredths (1050 / 65000 / 1200); at most two decimals.
fn hundredths(s: &str) -> Option<i64> {
    let s = s.replace(',', ".");
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let digits = |d: &str| !d.is_empty() && d.len() <= 12 && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.len() > 2 || (!frac.is_empty() && !digits(frac)) {
        return None;
    }
    let frac = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse::<i64>().ok()?,
    };
    int.parse::<i64>().ok()?.checked_mul(100)?.checked_add(frac)
}

/// Cents as typed back in a form: 65000 → "650,00".
fn euros_text(cents: i64) -> String {
    crate::export::csv::fixed(cents, 2)
}

/// A share in basis points as typed back in a form: 3333 → "33,33", 5000 → "50".
fn percent_text(bp: u32) -> String {
    budget::percent(bp)
        .trim_end_matches('%')
        .trim_end_matches(crate::domain::fr::NBSP)
        .to_owned()
}

// ---- queries ------------------------------------------------------------------

fn row(conn: &mut Conn, cohort_id: &str) -> Result<Option<BudgetRow>, AppError> {
    Ok(cohort_budgets::table
        .find(cohort_id)
        .select(BudgetRow::as_select())
        .first(conn)
        .optional()?)
}

/// The cohort's contract and its version (0 when the default one is in force).
pub fn contract(conn: &mut Conn, cohort_id: &str) -> Result<(Contract, i32), AppError> {
    Ok(match row(conn, cohort_id)? {
        Some(r) => contract_of(Some(&r), 0),
        None => contract_of(None, cohort::association_count(conn, cohort_id)?),
    })
}

/// The contract a stored row says, or the default one for `associations` (version 0).
pub fn contract_of(row: Option<&BudgetRow>, associations: i64) -> (Contract, i32) {
    match row {
        Some(r) => (
            Contract {
                contracted_half_days: i64::from(r.contracted_half_days),
                day_rate_cents: r.day_rate_cents,
                day_length: DayLength::from_minutes(i64::from(r.day_minutes))
                    .unwrap_or(DayLength::STANDARD),
            },
            r.version,
        ),
        None => (
            Contract::default_for(associations.max(0) as u32, DEFAULT_DAY_RATE_CENTS),
            0,
        ),
    }
}

/// The stored contracts of `cohort_ids` (one query), by cohort.
pub fn rows_for(
    conn: &mut Conn,
    cohort_ids: &[String],
) -> Result<std::collections::HashMap<String, BudgetRow>, AppError> {
    Ok(cohort_budgets::table
        .filter(in_list(cohort_budgets::cohort_id, cohort_ids))
        .select(BudgetRow::as_select())
        .load::<BudgetRow>(conn)?
        .into_iter()
        .map(|r| (r.cohort_id.clone(), r))
        .collect())
}

/// The funders of `cohort_ids` (one query), by cohort, each list in its order.
pub fn funders_for(
    conn: &mut Conn,
    cohort_ids: &[String],
) -> Result<std::collections::HashMap<String, Vec<FunderRow>>, AppError> {
    let mut by_cohort: std::collections::HashMap<String, Vec<FunderRow>> = Default::default();
    for r in cohort_funders::table
        .filter(in_list(cohort_funders::cohort_id, cohort_ids))
        .order((cohort_funders::cohort_id, cohort_funders::position.asc()))
        .select(FunderRow::as_select())
        .load::<FunderRow>(conn)?
    {
        by_cohort.entry(r.cohort_id.clone()).or_default().push(r);
    }
    Ok(by_cohort)
}

pub fn funders(conn: &mut Conn, cohort_id: &str) -> Result<Vec<FunderRow>, AppError> {
    Ok(cohort_funders::table
        .filter(cohort_funders::cohort_id.eq(cohort_id))
        .order(cohort_funders::position.asc())
        .select(FunderRow::as_select())
        .load(conn)?)
}

/// Fingerprint of a stored funders list: changes whenever the list is saved.
pub fn funders_version(rows: &[FunderRow]) -> String {
    let mut h = Sha256::new();
    for r in rows {
        h.update(r.id.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

/// The DLAs a funder may be: the ones the cohort involves, its owner then its partners.
pub fn funder_dlas(conn: &mut Conn, cohort_id: &str) -> Result<Vec<dla::Dla>, AppError> {
    let co = cohort::get(conn, cohort_id)?;
    let mut dlas = vec![dla::get(conn, &co.dla_id)?];
    dlas.extend(cohort::partners(conn, cohort_id)?);
    Ok(dlas)
}

/// The default proposal: the owning DLA at 100 %, or shared equally with the partner
/// DLAs (exact basis points, the first ones taking the leftover).
pub fn proposed_funders(conn: &mut Conn, cohort_id: &str) -> Result<Vec<FunderInput>, AppError> {
    Ok(proposal_of(funder_dlas(conn, cohort_id)?))
}

/// [`proposed_funders`] from the DLAs already read: the owner, then the partners by name.
pub fn proposal_of(dlas: Vec<dla::Dla>) -> Vec<FunderInput> {
    let shares =
        split_cents(i64::from(budget::FULL_SHARE_BP), &vec![1; dlas.len()]).unwrap_or_default();
    dlas.into_iter()
        .zip(shares)
        .map(|(d, bp)| FunderInput {
            name: d.name,
            share: percent_text(bp as u32),
            dla_id: d.id,
        })
        .collect()
}

/// The funders form's rows: the stored funders (or the proposal), then blank rows up to
/// [`FUNDER_ROWS`].
pub fn funders_form(conn: &mut Conn, cohort_id: &str) -> Result<FundersInput, AppError> {
    let rows = funders(conn, cohort_id)?;
    let mut list: Vec<FunderInput> = if rows.is_empty() {
        proposed_funders(conn, cohort_id)?
    } else {
        rows.iter()
            .map(|r| FunderInput {
                name: r.name.clone(),
                share: percent_text(r.share_bp.max(0) as u32),
                dla_id: r.dla_id.clone().unwrap_or_default(),
            })
            .collect()
    };
    while list.len() < FUNDER_ROWS {
        list.push(FunderInput::default());
    }
    Ok(FundersInput {
        funders: list,
        version: funders_version(&rows),
    })
}

/// Stores the contract (creating the row the first time). A stale `version` → 409.
pub fn save_contract(
    tx: &mut Tx,
    cohort_id: &str,
    input: &ContractInput,
) -> Result<BudgetRow, AppError> {
    cohort::get(tx, cohort_id)?;
    let contract = input.check()?;
    let current = row(tx, cohort_id)?;
    check_version(
        &input.version,
        current.as_ref().map_or(0, |r| r.version),
        "Le contrat a été modifié",
    )?;
    let values = (
        cohort_budgets::contracted_half_days.eq(contract.contracted_half_days as i32),
        cohort_budgets::day_rate_cents.eq(contract.day_rate_cents),
        cohort_budgets::day_minutes.eq(contract.day_length.minutes() as i32),
        cohort_budgets::updated_at.eq(tx.now_naive()),
    );
    let changed = "Le contrat a été modifié";
    match current {
        Some(r) => {
            let n = diesel::update(
                cohort_budgets::table
                    .find(cohort_id)
                    .filter(cohort_budgets::version.eq(r.version)),
            )
            .set((values, cohort_budgets::version.eq(r.version + 1)))
            .execute(tx.conn())?;
            check_updated(n, changed)?;
        }
        None => {
            let inserted = diesel::insert_into(cohort_budgets::table)
                .values((
                    cohort_budgets::cohort_id.eq(cohort_id),
                    values,
                    cohort_budgets::version.eq(1),
                ))
                .execute(tx.conn());
            check_inserted(inserted, changed)?;
        }
    }
    row(tx, cohort_id)?.ok_or_else(|| AppError::not_found("Contrat"))
}

/// Replaces the funders list. Shares must total exactly 100 %; a stale `version` → 409.
pub fn save_funders(
    tx: &mut Tx,
    cohort_id: &str,
    input: &FundersInput,
) -> Result<Vec<FunderRow>, AppError> {
    // The list has no row of its own to version: the cohort's lock keeps a concurrent
    // save from passing the same fingerprint (and both lists being inserted).
    crate::db::lock_cohort(tx, cohort_id)?;
    let involved = funder_dlas(tx, cohort_id)?;
    let mut c = Check::new();
    // (row index in the input, funder, dla id)
    let mut kept: Vec<(usize, Funder, Option<String>)> = Vec::new();
    let mut all_shares_read = true;
    for (i, f) in input.funders.iter().enumerate() {
        if f.is_blank() {
            continue;
        }
        // A funder names a DLA only among those the cohort involves: another DLA's
        // name and id are not this cohort's to quote.
        let dla_id = match f.dla_id.trim() {
            "" => None,
            id => match involved.iter().find(|d| d.id == id) {
                Some(d) => Some(d.clone()),
                None => {
                    c.add(
                        &format!("funders[{i}].dla_id"),
                        "Ce DLA ne porte pas la cohorte et n'en est pas partenaire : \
                             choisissez le DLA porteur, un DLA partenaire, ou aucun.",
                    );
                    None
                }
            },
        };
        let mut name = c.text(&format!("funders[{i}].name"), &f.name, 200);
        if name.is_empty()
            && let Some(d) = &dla_id
        {
            name = d.name.clone();
        }
        let share = if f.share.trim().is_empty() {
            c.add(
                &format!("funders[{i}].share"),
                "Indiquez la part de ce financeur, en %.",
            );
            None
        } else {
            let bp = parse_percent(&f.share);
            if bp.is_none() {
                c.add(
                    &format!("funders[{i}].share"),
                    "Part illisible : écrivez un pourcentage, par exemple 50 ou 33,33.",
                );
            }
            bp
        };
        all_shares_read &= share.is_some();
        kept.push((
            i,
            Funder {
                name,
                share_bp: share.unwrap_or(0),
            },
            dla_id.map(|d| d.id),
        ));
    }
    let list: Vec<Funder> = kept.iter().map(|(_, f, _)| f.clone()).collect();
    if let Err(errors) = validate_funders(&list) {
        for (field, message) in errors {
            if field == "funders" {
                // The total is meaningless while some share is unreadable.
                if all_shares_read || list.is_empty() {
                    c.add("funders", message);
                }
                continue;
            }
            // "funders[k].name" / "funders[k].share_bp": k indexes `kept`.
            let parsed = field
                .strip_prefix("funders[")
                .and_then(|rest| rest.split_once("]."))
                .and_then(|(k, what)| Some((k.parse::<usize>().ok()?, what)));
            if let Some((k, what)) = parsed
                && let Some((i, _, _)) = kept.get(k)
            {
                let what = if what == "share_bp" { "share" } else { what };
                c.add(&format!("funders[{i}].{what}"), message);
            }
        }
    }
    c.finish()?;
    let current = funders(tx, cohort_id)?;
    let version = input.version.trim();
    if !version.is_empty() && version != funders_version(&current) {
        return Err(stale("La liste des financeurs a été modifiée"));
    }
    diesel::delete(cohort_funders::table.filter(cohort_funders::cohort_id.eq(cohort_id)))
        .execute(tx.conn())?;
    for (position, (_, f, dla_id)) in kept.iter().enumerate() {
        diesel::insert_into(cohort_funders::table)
            .values((
                cohort_funders::id.eq(new_id()),
                cohort_funders::cohort_id.eq(cohort_id),
                cohort_funders::name.eq(&f.name),
                cohort_funders::dla_id.eq(dla_id),
                cohort_funders::share_bp.eq(f.share_bp as i32),
                cohort_funders::position.eq(position as i32),
            ))
            .execute(tx.conn())?;
    }
    funders(tx, cohort_id)
}

/// The API's change: the contract and/or the funders in one transaction. Field errors of
/// both are reported together.
pub fn save(tx: &mut Tx, cohort_id: &str, input: &BudgetInput) -> Result<(), AppError> {
    cohort::get(tx, cohort_id)?;
    let mut fields = FieldErrors::new();
    let mut first_error = None;
    let mut keep = |r: Result<(), AppError>| match r {
        Ok(()) => {}
        Err(AppError::Validation { fields: f, .. }) => fields.extend(f),
        Err(e) => {
            first_error.get_or_insert(e);
        }
    };
    if let Some(c) = &input.contract {
        keep(save_contract(tx, cohort_id, c).map(|_| ()));
    }
    if let Some(f) = &input.funders {
        keep(save_funders(tx, cohort_id, f).map(|_| ()));
    }
    if !fields.is_empty() {
        return Err(AppError::validation(fields));
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    if input.contract.is_none() && input.funders.is_none() {
        return Err(AppError::field(
            "contract",
            "Envoyez le contrat (« contract »), les financeurs (« funders ») ou les deux.",
        ));
    }
    Ok(())
}

/// The cohort's planned consultant time, live from its template, its sessions and its
/// enrolled associations (`domain::budget::planned_time`): what every « temps prévu »
/// figure shows, through [`overview`].
pub fn planned_of(
    c: &cohort::Cohort,
    sessions: &[session::Session],
    associations: u32,
    default_template: &ProgrammeTemplate,
) -> Vec<(TimeKind, TimeAmount)> {
    let sessions: Vec<_> = sessions
        .iter()
        .map(|s| (s.kind(), i64::from(s.planned_half_days)))
        .collect();
    planned_from(c, &sessions, associations, default_template)
}

/// [`planned_of`] from the sessions' kinds and planned half-days alone.
pub fn planned_from(
    c: &cohort::Cohort,
    sessions: &[(SessionKind, i64)],
    associations: u32,
    default_template: &ProgrammeTemplate,
) -> Vec<(TimeKind, TimeAmount)> {
    planned_time(&c.template(default_template), sessions, associations)
}

/// The time totals and the warnings of a budget, from its facts (no query): what
/// [`overview`] shows and the DLA overview counts, alike.
pub fn assess(
    contract: &Contract,
    recorded: bool,
    associations: u32,
    funders: &[Funder],
    planned: &[(TimeKind, TimeAmount)],
    logged: &[(TimeKind, TimeAmount)],
) -> (TimeTotals, Vec<Warning>) {
    let totals = time_totals(planned, logged, contract.day_length);
    let mut warnings = budget_warnings(contract, associations, funders, &totals);
    // Until the DLA records its contract, the prorated default is a placeholder: the plan
    // going over it says nothing (a cohort of 4 plans more than 4/8 of 12 days, since the
    // collective time does not shrink with the group).
    if !recorded {
        warnings.retain(|w| w.code != "over_contract");
    }
    (totals, warnings)
}

/// The stored funders' parts of `cost_cents` (largest remainder: they add up to the cost).
pub fn stored_shares(cost_cents: i64, rows: &[FunderRow]) -> Vec<FunderShare> {
    let list: Vec<Funder> = rows.iter().map(FunderRow::funder).collect();
    let parts = split_among_funders(cost_cents, &list).unwrap_or_else(|| vec![0; list.len()]);
    rows.iter()
        .zip(parts)
        .map(|(r, cost)| FunderShare {
            id: r.id.clone(),
            name: r.name.clone(),
            dla_id: r.dla_id.clone(),
            share_bp: r.share_bp.max(0) as u32,
            cost_cents: cost,
        })
        .collect()
}

/// The proposal's parts of `cost_cents` (not saved: no id).
pub fn proposed_shares(cost_cents: i64, proposal: Vec<FunderInput>) -> Vec<FunderShare> {
    let shares: Vec<u32> = proposal
        .iter()
        .map(|f| parse_percent(&f.share).unwrap_or(0))
        .collect();
    let parts = split_cents(cost_cents, &shares).unwrap_or_else(|| vec![0; shares.len()]);
    proposal
        .into_iter()
        .zip(shares.into_iter().zip(parts))
        .map(|(f, (bp, cost))| FunderShare {
            id: String::new(),
            name: f.name,
            dla_id: Some(f.dla_id),
            share_bp: bp,
            cost_cents: cost,
        })
        .collect()
}

/// The cohort's budget: contract, cost and its split, planned / logged / remaining time
/// per kind, and the warnings.
pub fn overview(
    conn: &mut Conn,
    cohort_id: &str,
    default_template: &ProgrammeTemplate,
) -> Result<BudgetOverview, AppError> {
    let co = cohort::get(conn, cohort_id)?;
    let associations = cohort::association_count(conn, cohort_id)?.max(0) as u32;
    let sessions = session::list_for_cohort(conn, cohort_id)?;
    overview_of(conn, &co, associations, &sessions, default_template)
}

/// [`overview`] of a cohort whose row, number of associations and sessions are read
/// already (the cohort page has them from `programme::overview`): only the budget's own
/// rows are read.
pub fn overview_of(
    conn: &mut Conn,
    co: &cohort::Cohort,
    associations: u32,
    sessions: &[session::Session],
    default_template: &ProgrammeTemplate,
) -> Result<BudgetOverview, AppError> {
    let cohort_id = co.id.as_str();
    let (contract, version) = contract(conn, cohort_id)?;
    let cost_cents = contract.cost_cents();
    let rows = funders(conn, cohort_id)?;
    let list: Vec<Funder> = rows.iter().map(FunderRow::funder).collect();
    let funders = stored_shares(cost_cents, &rows);
    let proposed_funders = if rows.is_empty() {
        proposed_shares(cost_cents, proposed_funders(conn, cohort_id)?)
    } else {
        Vec::new()
    };
    let planned = planned_of(co, sessions, associations, default_template);
    let logged = time_entry::amounts(conn, cohort_id)?;
    let (totals, warnings) = assess(
        &contract,
        version > 0,
        associations,
        &list,
        &planned,
        &logged,
    );
    Ok(BudgetOverview {
        cohort_id: cohort_id.to_owned(),
        associations,
        contract: ContractView {
            contracted_half_days: contract.contracted_half_days,
            day_rate_cents: contract.day_rate_cents,
            day_minutes: contract.day_length.minutes(),
            recorded: version > 0,
            version,
        },
        cost_cents,
        funders,
        funders_version: funders_version(&rows),
        proposed_funders,
        totals,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(days: &str, rate: &str, length: &str) -> ContractInput {
        ContractInput {
            contracted_days: days.into(),
            day_rate: rate.into(),
            day_length: length.into(),
            version: String::new(),
        }
    }

    fn fields(e: AppError) -> FieldErrors {
        match e {
            AppError::Validation { fields, .. } => fields,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn contracts_read_french_days_euros_and_hours() {
        let c = input("10,5", "650,00 €", "7 h 30").check().unwrap();
        assert_eq!(c.contracted_half_days, 21);
        assert_eq!(c.day_rate_cents, 65_000);
        assert_eq!(c.day_length.minutes(), 450);
        let c = input("12 jours", "1\u{202f}250,5", "").check().unwrap();
        assert_eq!(c.contracted_half_days, 24);
        assert_eq!(c.day_rate_cents, 125_050);
        assert_eq!(c.day_length, DayLength::STANDARD);
    }

    #[test]
    fn contracts_refuse_quarters_bad_rates_and_long_days_on_their_field() {
        let f = fields(input("10,25", "six cents", "13").check().unwrap_err());
        assert!(f["contracted_days"].contains("demi-journées"));
        assert!(f["day_rate"].contains("illisible"));
        assert!(f["day_length"].contains("12 h"));
        let f = fields(input("0", "650", "7").check().unwrap_err());
        assert!(f.contains_key("contracted_days"));
    }

    #[test]
    fn a_contract_is_typed_back_as_it_reads() {
        let c = Contract {
            contracted_half_days: 21,
            day_rate_cents: 65_000,
            day_length: DayLength::from_minutes(450).unwrap(),
        };
        let i = ContractInput::from_contract(&c, 3);
        assert_eq!(i.contracted_days, "10,5");
        assert_eq!(i.day_rate, "650,00");
        assert_eq!(i.version, "3");
        assert_eq!(i.check().unwrap(), c);
    }

    #[test]
    fn shares_are_typed_back_without_the_percent_sign() {
        assert_eq!(percent_text(3333), "33,33");
        assert_eq!(percent_text(5000), "50");
        assert_eq!(percent_text(1250), "12,5");
    }
}
