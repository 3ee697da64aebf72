//! Storage of an association's socio-economic model (`association_profiles`): one JSON
//! snapshot (`domain::profile::Profile`) per stage — `etat_des_lieux`, then `cible` (the
//! target model before the bilan) — with a version for concurrent edits; and the
//! association's choice to appear by name in the cohort mirror.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::in_list;
use crate::db::schema::{association_profiles, associations};
use crate::db::{Conn, Tx};
use crate::domain::profile::Profile;
use crate::error::AppError;
use crate::models::{association, check_inserted, check_updated, check_version};

/// The two snapshots of the method.
pub const STAGES: [(&str, &str); 2] = [
    ("etat_des_lieux", "État des lieux"),
    ("cible", "Modèle visé"),
];

pub fn stage_label(stage: &str) -> Option<&'static str> {
    STAGES.iter().find(|(c, _)| *c == stage).map(|(_, l)| *l)
}

/// A stored snapshot.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StoredProfile {
    pub association_id: String,
    pub stage: String,
    #[schema(value_type = Object)]
    pub profile: Profile,
    pub updated_by: String,
    /// 0 when nothing is stored yet.
    pub version: i32,
    #[serde(with = "crate::models::utc_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<NaiveDateTime>,
}

fn check_stage(stage: &str) -> Result<(), AppError> {
    stage_label(stage)
        .map(|_| ())
        .ok_or_else(|| AppError::NotFound("Étape inconnue : état des lieux ou modèle visé.".into()))
}

/// The snapshot of `stage`, or an empty one (version 0).
pub fn get(conn: &mut Conn, association_id: &str, stage: &str) -> Result<StoredProfile, AppError> {
    check_stage(stage)?;
    association::get(conn, association_id)?;
    let row: Option<(String, String, i32, NaiveDateTime)> = association_profiles::table
        .find((association_id, stage))
        .select((
            association_profiles::data,
            association_profiles::updated_by,
            association_profiles::version,
            association_profiles::updated_at,
        ))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((data, by, version, at)) => StoredProfile {
            association_id: association_id.into(),
            stage: stage.into(),
            profile: serde_json::from_str(&data).unwrap_or_default(),
            updated_by: by,
            version,
            updated_at: Some(at),
        },
        None => StoredProfile {
            association_id: association_id.into(),
            stage: stage.into(),
            profile: Profile::default(),
            updated_by: String::new(),
            version: 0,
            updated_at: None,
        },
    })
}

/// Saves a snapshot after its consistency checks (422 with each field's message) and the
/// version check (409 when someone saved in between; `version` "0" for a first save).
pub fn save(
    tx: &mut Tx,
    association_id: &str,
    stage: &str,
    profile: &Profile,
    version: &str,
    by: &str,
) -> Result<StoredProfile, AppError> {
    check_stage(stage)?;
    let errors = profile.check();
    if !errors.is_empty() {
        return Err(AppError::validation(errors.into_iter().collect()));
    }
    {
        let current = get(tx, association_id, stage)?;
        check_version(
            version,
            current.version,
            "Ce modèle socio-économique a été modifié",
        )?;
        let profile = keep_other_stage_fields(stage, profile, &current.profile);
        let data = serde_json::to_string(&profile).map_err(|e| AppError::Internal(e.into()))?;
        let t = tx.now_naive();
        let changed = "Ce modèle socio-économique a été modifié";
        if current.version == 0 {
            let inserted = diesel::insert_into(association_profiles::table)
                .values((
                    association_profiles::association_id.eq(association_id),
                    association_profiles::stage.eq(stage),
                    association_profiles::data.eq(&data),
                    association_profiles::updated_by.eq(by),
                    association_profiles::version.eq(1),
                    association_profiles::updated_at.eq(t),
                ))
                .execute(tx.conn());
            check_inserted(inserted, changed)?;
        } else {
            let n = diesel::update(
                association_profiles::table
                    .find((association_id, stage))
                    .filter(association_profiles::version.eq(current.version)),
            )
            .set((
                association_profiles::data.eq(&data),
                association_profiles::updated_by.eq(by),
                association_profiles::version.eq(current.version + 1),
                association_profiles::updated_at.eq(t),
            ))
            .execute(tx.conn())?;
            check_updated(n, changed)?;
        }
        get(tx, association_id, stage)
    }
}

/// Each stage's form owns part of the document: the état des lieux has no levers, the target
/// model no strengths, fragilities or risks. What a stage does not own is kept as stored,
/// so that saving its form never empties what was entered another way.
fn keep_other_stage_fields(stage: &str, new: &Profile, stored: &Profile) -> Profile {
    let mut p = new.clone();
    if stage == "etat_des_lieux" {
        p.levers = stored.levers.clone();
    } else {
        p.reading.strengths = stored.reading.strengths.clone();
        p.reading.fragilities = stored.reading.fragilities.clone();
        p.reading.risks = stored.reading.risks.clone();
    }
    p
}

/// Every association of the cohort with its snapshot of `stage` (empty when none).
pub fn list_for_cohort(
    conn: &mut Conn,
    cohort_id: &str,
    stage: &str,
) -> Result<Vec<(association::Association, StoredProfile)>, AppError> {
    check_stage(stage)?;
    let mut out = Vec::new();
    for a in association::list_for_cohort(conn, cohort_id)? {
        let p = get(conn, &a.id, stage)?;
        out.push((a, p));
    }
    Ok(out)
}

/// What the activity report reads of an association: its cohort, sector, town and
/// salaried headcount, and the « richesses humaines » of its état des lieux (`None`
/// without one).
pub struct Reported {
    pub cohort_id: String,
    pub sector: String,
    pub town: String,
    pub salaried_staff: Option<i32>,
    pub human: Option<crate::domain::profile::Human>,
}

/// The [`Reported`] facts of `cohort_ids`' associations, in no particular order (the report
/// counts them): one query, the état des lieux joined by its key rather than looked up by
/// a list of ids, read row by row (a network's year is thousands of profiles of a kilobyte
/// or two, of which only a few numbers are kept) — and not sorted, which made SQLite hold
/// every row, profiles included, before the first (2.4 MB at a network's size).
pub fn reported_for_cohorts(
    conn: &mut Conn,
    cohort_ids: &[String],
) -> Result<Vec<Reported>, AppError> {
    if cohort_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(associations::table
        .left_join(
            association_profiles::table.on(association_profiles::association_id
                .eq(associations::id)
                .and(association_profiles::stage.eq("etat_des_lieux"))),
        )
        .filter(in_list(associations::cohort_id, cohort_ids))
        .select((
            associations::cohort_id,
            associations::sector,
            associations::town,
            associations::salaried_staff,
            association_profiles::data.nullable(),
        ))
        .load_iter::<(String, String, String, Option<i32>, Option<String>), diesel::connection::DefaultLoadingMode>(conn)?
        .map(|row| {
            let (cohort_id, sector, town, salaried_staff, data) = row?;
            Ok(Reported {
                cohort_id,
                sector,
                town,
                salaried_staff,
                human: data.as_deref().map(human_of),
            })
        })
        .collect::<Result<_, diesel::result::Error>>()?)
}

/// The « richesses humaines » of a stored profile. `serde_json` writes a [`Profile`] with
/// `human` first: then that object alone is parsed, not the finances, alliances and
/// readings after it (four fifths of the text); any other shape is parsed whole.
fn human_of(data: &str) -> crate::domain::profile::Human {
    use serde::Deserialize;
    #[derive(serde::Deserialize, Default)]
    struct HumanOnly {
        #[serde(default)]
        human: crate::domain::profile::Human,
    }
    if let Some(rest) = data.strip_prefix("{\"human\":")
        && let Ok(human) = crate::domain::profile::Human::deserialize(
            &mut serde_json::Deserializer::from_str(rest),
        )
    {
        return human;
    }
    serde_json::from_str::<HumanOnly>(data)
        .unwrap_or_default()
        .human
}

/// Whether peers see the association by name in the mirror.
pub fn set_mirror_named(
    tx: &mut Tx,
    association_id: &str,
    named: bool,
) -> Result<association::Association, AppError> {
    association::get(tx, association_id)?;
    diesel::update(associations::table.find(association_id))
        .set((
            associations::mirror_named.eq(named),
            associations::updated_at.eq(tx.now_naive()),
        ))
        .execute(tx.conn())?;
    association::get(tx, association_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::profile::{Levers, Reading};

    #[test]
    fn the_human_part_is_read_alone_or_from_the_whole_profile() {
        let profile = Profile {
            human: crate::domain::profile::Human {
                employees: Some(5),
                employees_fte_hundredths: Some(420),
                volunteers: Some(8),
                ..Default::default()
            },
            reading: Reading {
                ambition: "{\"human\":{\"employees\":99}}".into(),
                ..Reading::default()
            },
            ..Profile::default()
        };
        let stored = serde_json::to_string(&profile).unwrap();
        assert!(stored.starts_with("{\"human\":"), "{stored}");
        assert_eq!(human_of(&stored), profile.human);
        // Another order, spaces, or no human part at all: read whole, as before.
        let reordered = format!(
            "{{ \"reading\": {{}}, \"human\": {} }}",
            serde_json::to_string(&profile.human).unwrap()
        );
        assert_eq!(human_of(&reordered), profile.human);
        assert_eq!(human_of("{\"finances\":{}}"), Default::default());
        assert_eq!(human_of("not json"), Default::default());
    }

    #[test]
    fn a_stage_form_keeps_the_fields_it_does_not_show() {
        let stored = Profile {
            reading: Reading {
                strengths: "forces".into(),
                fragilities: "fragilités".into(),
                risks: "risques".into(),
                ambition: "ambition".into(),
            },
            levers: Levers {
                actions: "pistes".into(),
                ..Levers::default()
            },
            ..Profile::default()
        };
        let typed = Profile {
            reading: Reading {
                ambition: "nouvelle ambition".into(),
                ..Reading::default()
            },
            ..Profile::default()
        };
        let edl = keep_other_stage_fields("etat_des_lieux", &typed, &stored);
        assert_eq!(edl.levers.actions, "pistes");
        assert_eq!(
            edl.reading.strengths, "",
            "the état des lieux form owns its reading"
        );
        let cible = keep_other_stage_fields("cible", &typed, &stored);
        assert_eq!(cible.reading.strengths, "forces");
        assert_eq!(cible.reading.ambition, "nouvelle ambition");
        assert_eq!(
            cible.levers,
            Levers::default(),
            "the target form owns its levers"
        );
    }
}
