//! `cohorte bench-data`: a national-size instance for `scripts/bench` (issue #19): DLAs,
//! their chargé·es de mission and consultants, and cohorts started over five years, each
//! built by the demo's `demo::build_cohort` — through the models, so the rows are what the
//! app itself writes (audit log, programme, session logs, time entries, socio-economic
//! models, and the outbox as the real planner fills it from publication on).
//!
//! Proportions of the issue for 3,000 cohorts: one DLA per 25 cohorts, 8 associations of 2
//! people per cohort. Names (DLAs, towns, associations, people) come from small lists below,
//! combined by a seeded generator: the same seed gives the same names and dates. Start dates
//! run from four years before `today` to one year after, so about a third of the cohorts
//! ended more than 24 months ago (the privacy purge's share) and a fifth are still to come.
//! Cohorts are written many per transaction, and the accounts nobody signs in with get no
//! password (no slow hash): only the two accounts the benchmark uses have one.

use chrono::{Days, NaiveDate};
use diesel::prelude::*;

use crate::db::{Conn, Tx};
use crate::demo::{AssociationSeed, CohortSeed};
use crate::domain::calendar;
use crate::domain::programme::ProgrammeTemplate;
use crate::error::AppError;
use crate::models::account::{self, LinkPurpose, LinkTarget, NewUser};
use crate::models::cohort::{self, CohortInput};
use crate::models::consultant::{self, ConsultantInput};
use crate::models::dla::{self, DlaInput};
use crate::models::outbox::MailContext;
use crate::models::{association, participant, session};

/// The administrator the benchmark signs in as.
pub const ADMIN_EMAIL: &str = "administrateur@banc-essai.fr";
/// The chargé·e de mission of the first DLA (about 25 cohorts) the benchmark signs in as.
pub const OFFICER_EMAIL: &str = "charge-de-mission@banc-essai.fr";
/// The two accounts' password when `--password` is not given. Only this command sets it:
/// a benchmark instance is not a real one.
pub const DEFAULT_PASSWORD: &str = "banc-d-essai-cohorte";

/// Cohorts per DLA, as in the national dataset (120 DLAs for 3,000 cohorts).
const COHORTS_PER_DLA: usize = 25;
/// Cohorts written per transaction.
const BATCH: usize = 20;

pub struct Options {
    pub cohorts: usize,
    /// Default: one per 25 cohorts, at least 1.
    pub dlas: Option<usize>,
    pub seed: u64,
    pub password: String,
}

/// What the benchmark needs to know about the instance built.
#[derive(Debug)]
pub struct Built {
    pub dlas: usize,
    pub cohorts: usize,
    /// The first DLA, the officer's.
    pub dla_id: String,
    /// Cohorts the officer reaches (their DLA's and those it is a partner of).
    pub officer_cohorts: usize,
    /// A cohort of the officer's DLA half-way through its programme, started about nine
    /// weeks before `today` (as the demo's).
    pub cohort_id: String,
    /// One of its collective sessions already held (it has a log).
    pub session_held: String,
    /// One of its sessions still ahead (to move).
    pub session_ahead: String,
    /// One of its associations.
    pub association_id: String,
    /// A sign-in link for one of its participants, as a path (`/connexion/lien/…`),
    /// valid a year and once.
    pub participant_link: String,
}

/// A tiny seeded generator (xorshift64*): enough to pick names and dates reproducibly.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Never zero, and seeds 1, 2, 3 far apart.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Fills an empty database with `options.cohorts` cohorts around the clock's day, each batch
/// in a write transaction of its own; `progress(done, total)` after
/// each batch. Refused on a database that already has cohorts.
pub fn build(
    conn: &mut Conn,
    template: &ProgrammeTemplate,
    alsace_moselle: bool,
    mail: &MailContext,
    options: &Options,
    clock: &crate::db::Clock,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Built, AppError> {
    use crate::db::{Author, write_with};
    // The programme's dates are relative to the clock's day, in Paris.
    let today = crate::domain::calendar::utc_to_paris(clock.now()).date();
    if !cohort::is_database_empty(conn)? {
        return Err(AppError::Conflict {
            code: "database_not_empty",
            message: "La base contient déjà des cohortes : le jeu d'essai se charge dans une \
                      base vide (indiquez-en une autre avec DATABASE_URL)."
                .into(),
        });
    }
    let n = options.cohorts.max(1);
    let m = options
        .dlas
        .unwrap_or(n.div_ceil(COHORTS_PER_DLA))
        .clamp(1, n);
    let mut rng = Rng::new(options.seed);
    let network = write_with(conn, Author::system(), clock.now(), |tx| {
        network(tx, m, &options.password)
    })?;
    let stride = first_stride(n, m);

    let mut built: Option<Built> = None;
    let mut done = 0;
    while done < n {
        let end = (done + BATCH).min(n);
        write_with(conn, Author::system(), clock.now(), |tx| {
            for k in done..end {
                let seed = cohort_seed(&mut rng, &network, stride, k, today, alsace_moselle);
                let id =
                    crate::demo::build_cohort(tx, &seed, template, alsace_moselle, today, mail)?;
                if k == 0 {
                    built = Some(landmarks(tx, &id, &network, today)?);
                }
            }
            Ok(())
        })?;
        done = end;
        progress(done, n);
    }
    let mut built = built.expect("at least one cohort");
    built.dlas = m;
    built.cohorts = n;
    built.officer_cohorts = officer_cohorts(n, m, stride);
    Ok(built)
}

/// The DLAs, two chargé·es de mission each (the first DLA's first one is the benchmark's
/// officer, with a password), three consultants each (the first with an account), and the
/// administrator.
struct Network {
    dlas: Vec<NetworkDla>,
}

struct NetworkDla {
    id: String,
    /// Département's name, for the cohorts' names and territories.
    area: &'static str,
    town: &'static str,
    /// (name, email) of the chargé·es de mission.
    officers: Vec<(String, String)>,
    consultants: Vec<String>,
}

fn network(tx: &mut Tx, m: usize, password: &str) -> Result<Network, AppError> {
    account::create(
        tx,
        NewUser {
            email: ADMIN_EMAIL,
            name: "Camille Administratrice",
            role: "admin",
            dla_id: None,
            consultant_id: None,
            password: Some(password),
        },
    )?;
    let mut rng = Rng::new(0xD1A);
    let mut dlas = Vec::with_capacity(m);
    for i in 0..m {
        let (code, area, town) = DEPARTEMENTS[i % DEPARTEMENTS.len()];
        let round = i / DEPARTEMENTS.len();
        let name = if round == 0 {
            format!("DLA {area}")
        } else {
            format!("DLA {area} — antenne {}", round + 1)
        };
        let d = dla::create(
            tx,
            &DlaInput {
                name,
                area: format!("{area} ({code})"),
                ..Default::default()
            },
        )?;
        let domain = format!("dla{}-{}.fr", code.to_lowercase(), round + 1);
        let mut officers = Vec::new();
        for j in 0..2 {
            let (first, last) = (rng.pick(&FIRST_NAMES), rng.pick(&LAST_NAMES));
            let person = format!("{first} {last}");
            let email = if i == 0 && j == 0 {
                OFFICER_EMAIL.to_string()
            } else {
                format!("{}.{}@{domain}", slug(first), slug(last))
            };
            account::create(
                tx,
                NewUser {
                    email: &email,
                    name: &person,
                    role: "officer",
                    dla_id: Some(&d.id),
                    consultant_id: None,
                    password: (i == 0 && j == 0).then_some(password),
                },
            )?;
            officers.push((person, email));
        }
        let mut consultants = Vec::new();
        for j in 0..3 {
            let (first, last) = (rng.pick(&FIRST_NAMES), rng.pick(&LAST_NAMES));
            let firm = rng.pick(&FIRMS);
            let email = format!("{}.{}.{i}@{}.fr", slug(first), slug(last), slug(firm));
            let record = consultant::create(
                tx,
                &ConsultantInput {
                    name: format!("{first} {last}"),
                    firm: (*firm).into(),
                    email: email.clone(),
                    dla_ids: Some(vec![d.id.clone()]),
                    ..Default::default()
                },
            )?;
            if j == 0 {
                account::create(
                    tx,
                    NewUser {
                        email: &email,
                        name: &format!("{first} {last}"),
                        role: "consultant",
                        dla_id: None,
                        consultant_id: Some(&record.consultant.id),
                        password: None,
                    },
                )?;
            }
            consultants.push(record.consultant.id);
        }
        dlas.push(NetworkDla {
            id: d.id,
            area,
            town,
            officers,
            consultants,
        });
    }
    Ok(Network { dlas })
}

/// Cohort `k`: of the DLA [`owners`] says (the first DLA's one in `stride`), one in four
/// with a partner DLA, started on a working day between four years before `today` and one
/// year after — but for the first, nine weeks before `today` like the demo, so that the
/// benchmark's cohort is half-way. The first DLA's (the officer's, whose pages the
/// benchmark measures) start on dates spread evenly over those five years, not drawn: the
/// same at every size of the dataset, so that its pages at 300 and at 3,000 cohorts show as
/// many cohorts, started on the same dates, and differ only by the network around them
/// (drawn, its report's year had 6 cohorts at 300 and 7 at 3,000).
fn cohort_seed(
    rng: &mut Rng,
    network: &Network,
    stride: usize,
    k: usize,
    today: NaiveDate,
    alsace_moselle: bool,
) -> CohortSeed {
    let (owner, partner) = owners(k, network.dlas.len(), stride);
    let d = &network.dlas[owner];
    let partner = partner.map(|p| network.dlas[p].id.clone());
    let days_back: i64 = if k == 0 {
        63
    } else if owner == 0 {
        spread_days_back(k / stride)
    } else {
        4 * 365 - rng.below(5 * 365) as i64
    };
    let start = calendar::next_working_day(
        today
            .checked_sub_signed(chrono::Duration::days(days_back))
            .expect("date"),
        alsace_moselle,
    );
    // A programme lasts about four months and a half.
    let status = if start + Days::new(140) < today {
        "terminee"
    } else {
        "en_cours"
    };
    let (officer_name, officer_email) = rng.pick(&d.officers).clone();
    let thematic = rng.pick(&THEMATICS);
    // Names are unique within a cohort (enrolling refuses a second one).
    let mut associations: Vec<AssociationSeed> = Vec::with_capacity(8);
    while associations.len() < 8 {
        let a = association_seed(rng, d.town);
        if associations.iter().all(|b| b.name != a.name) {
            associations.push(a);
        }
    }
    CohortSeed {
        cohort: CohortInput {
            name: format!("{thematic} — {} {}", d.area, start.format("%Y")),
            dla_id: d.id.clone(),
            partner_dla_ids: partner.into_iter().collect(),
            territory: d.area.into(),
            approach: (*rng.pick(&["territoriale", "reseau", "sectorielle"])).into(),
            thematic: (*thematic).into(),
            start_date: start.format("%Y-%m-%d").to_string(),
            status: status.into(),
            association_cap: "8".into(),
            consultant_id: rng.pick(&d.consultants).clone(),
            officer_name: officer_name.clone(),
            officer_email,
            version: String::new(),
        },
        associations,
        venue: format!(
            "Maison des associations, {} rue de la République, {}",
            1 + rng.below(80),
            d.town
        ),
        mirror_guest: format!("{officer_name} ({})", network_dla_name(d)),
        travel: format!("Aller-retour {}", d.town),
        first_profile: rng.below(8),
    }
}

fn network_dla_name(d: &NetworkDla) -> String {
    format!("DLA {}", d.area)
}

fn association_seed(rng: &mut Rng, dla_town: &'static str) -> AssociationSeed {
    let town = if rng.below(3) == 0 {
        dla_town
    } else {
        *rng.pick(&TOWNS)
    };
    let (kind, sector) = *rng.pick(&ASSOCIATION_KINDS);
    let name = format!("{kind} {town}{}", rng.pick(&NAME_ENDINGS));
    let domain = format!("{}.fr", slug(&name));
    let person = |rng: &mut Rng| {
        let (first, last) = (*rng.pick(&FIRST_NAMES), *rng.pick(&LAST_NAMES));
        (
            format!("{first} {last}"),
            format!("{}.{}@{domain}", slug(first), slug(last)),
        )
    };
    let director = person(rng);
    let mut board = person(rng);
    while board.1 == director.1 {
        board = person(rng);
    }
    AssociationSeed {
        rna: format!("W{:09}", rng.next() % 1_000_000_000),
        year: 1950 + rng.below(75) as i32,
        staff: rng.below(25) as i32,
        sector: sector.into(),
        town: town.into(),
        director,
        board: Some((
            board.0,
            board.1,
            (*rng.pick(&[
                "Président",
                "Présidente",
                "Trésorier",
                "Trésorière",
                "Secrétaire",
            ]))
            .into(),
        )),
        name,
    }
}

/// The ids the benchmark uses, in cohort 0 (the officer's, half-way).
fn landmarks(
    tx: &mut Tx,
    cohort_id: &str,
    network: &Network,
    today: NaiveDate,
) -> Result<Built, AppError> {
    let sessions = session::list_for_cohort(tx, cohort_id)?;
    let held = sessions
        .iter()
        .rfind(|s| s.kind().is_collective() && s.local_start().date() < today)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no session held in cohort 0")))?;
    let ahead = sessions
        .iter()
        .find(|s| s.local_start().date() > today + Days::new(7))
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no session ahead in cohort 0")))?;
    let associations = association::list_for_cohort(tx, cohort_id)?;
    let first = associations
        .first()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no association in cohort 0")))?;
    let people = participant::list_for_association(tx, &first.id)?;
    let person = people
        .first()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no participant in cohort 0")))?;
    let token = account::create_link(
        tx,
        LinkPurpose::ParticipantSignIn,
        &LinkTarget {
            user_id: None,
            participant_id: Some(person.id.clone()),
        },
        chrono::Duration::days(365),
        tx.now_naive(),
    )?;
    Ok(Built {
        dlas: 0,
        cohorts: 0,
        dla_id: network.dlas[0].id.clone(),
        officer_cohorts: 0,
        cohort_id: cohort_id.into(),
        session_held: held.id.clone(),
        session_ahead: ahead.id.clone(),
        association_id: first.id.clone(),
        participant_link: format!("/connexion/lien/{token}"),
    })
}

/// The first DLA's `j`-th cohort (from 1): 24 start dates 79 days apart, from four years
/// before `today` to a year after, then again.
fn spread_days_back(j: usize) -> i64 {
    const SLOTS: i64 = 24;
    let slot = (j.saturating_sub(1) as i64) % SLOTS;
    4 * 365 - slot * (5 * 365) / (SLOTS - 1)
}

/// The DLA that runs cohort `k` among `m`, and its partner DLA (one cohort in four). The
/// first DLA — the officer's, whose pages the benchmark measures — runs one cohort in
/// `stride` ([`first_stride`]: its 25 cohorts whatever the network's size) and is nobody's
/// partner; the others run the rest in turn, each with the next as partner. With the
/// default network (one DLA per 25 cohorts, `m` = `stride`) cohort `k` is DLA `k mod m`'s
/// as before (its partner too, but on an odd network, whose last DLA now partners the
/// second instead of the first); a larger network (the benchmark's reference size, a tenth
/// of the national cohorts over its 120 DLAs) leaves the first DLA the same 25 cohorts.
fn owners(k: usize, m: usize, stride: usize) -> (usize, Option<usize>) {
    if m <= 1 {
        return (0, None);
    }
    let owner = if k.is_multiple_of(stride) {
        0
    } else {
        // The others' cohorts before this one, in turn over DLAs 1 to m − 1.
        1 + (k - k / stride - 1) % (m - 1)
    };
    let partner = k
        .is_multiple_of(4)
        .then(|| 1 + owner % (m - 1))
        .filter(|p| *p != owner);
    (owner, partner)
}

/// Cohorts the first DLA's officer reaches, as [`owners`] assigns them: its own (it is
/// nobody's partner).
fn officer_cohorts(n: usize, m: usize, stride: usize) -> usize {
    (0..n).filter(|k| owners(*k, m, stride).0 == 0).count()
}

/// See [`owners`]: one cohort in `stride` is the first DLA's — about 25 of them, but never
/// every one when there are other DLAs (a small instance over an explicit `--dlas`), nor
/// fewer than its share of `m`.
fn first_stride(n: usize, m: usize) -> usize {
    if m <= 1 {
        1
    } else {
        n.div_ceil(COHORTS_PER_DLA).clamp(2, m)
    }
}

/// Rows per table, largest first, for the report.
pub fn table_counts(conn: &mut Conn) -> Result<Vec<(String, i64)>, AppError> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let names: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__diesel%' ORDER BY name",
    )
    .load(conn)?;
    let mut counts = Vec::with_capacity(names.len());
    for t in names {
        let c: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM \"{}\"", t.name))
            .get_result(conn)?;
        counts.push((t.name, c.n));
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(counts)
}

/// Lower-case ASCII for an address: accents dropped, anything else a hyphen.
fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = match c {
            'à' | 'â' | 'ä' | 'À' | 'Â' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            _ => '-',
        };
        if c != '-' || !(out.is_empty() || out.ends_with('-')) {
            out.push(c);
        }
    }
    out.trim_end_matches('-').to_string()
}

// ---- names -------------------------------------------------------------------------------

/// (code, name, main town): the DLAs are départementaux.
const DEPARTEMENTS: [(&str, &str, &str); 48] = [
    ("01", "de l'Ain", "Bourg-en-Bresse"),
    ("02", "de l'Aisne", "Laon"),
    ("06", "des Alpes-Maritimes", "Nice"),
    ("07", "de l'Ardèche", "Privas"),
    ("09", "de l'Ariège", "Foix"),
    ("11", "de l'Aude", "Carcassonne"),
    ("13", "des Bouches-du-Rhône", "Marseille"),
    ("14", "du Calvados", "Caen"),
    ("16", "de la Charente", "Angoulême"),
    ("17", "de la Charente-Maritime", "La Rochelle"),
    ("19", "de la Corrèze", "Tulle"),
    ("21", "de la Côte-d'Or", "Dijon"),
    ("22", "des Côtes-d'Armor", "Saint-Brieuc"),
    ("24", "de la Dordogne", "Périgueux"),
    ("25", "du Doubs", "Besançon"),
    ("26", "de la Drôme", "Valence"),
    ("29", "du Finistère", "Quimper"),
    ("30", "du Gard", "Nîmes"),
    ("31", "de la Haute-Garonne", "Toulouse"),
    ("33", "de la Gironde", "Bordeaux"),
    ("34", "de l'Hérault", "Montpellier"),
    ("35", "d'Ille-et-Vilaine", "Rennes"),
    ("37", "d'Indre-et-Loire", "Tours"),
    ("38", "de l'Isère", "Grenoble"),
    ("40", "des Landes", "Mont-de-Marsan"),
    ("42", "de la Loire", "Saint-Étienne"),
    ("44", "de la Loire-Atlantique", "Nantes"),
    ("45", "du Loiret", "Orléans"),
    ("49", "de Maine-et-Loire", "Angers"),
    ("51", "de la Marne", "Reims"),
    ("54", "de Meurthe-et-Moselle", "Nancy"),
    ("56", "du Morbihan", "Vannes"),
    ("57", "de la Moselle", "Metz"),
    ("59", "du Nord", "Lille"),
    ("62", "du Pas-de-Calais", "Arras"),
    ("63", "du Puy-de-Dôme", "Clermont-Ferrand"),
    ("64", "des Pyrénées-Atlantiques", "Pau"),
    ("66", "des Pyrénées-Orientales", "Perpignan"),
    ("67", "du Bas-Rhin", "Strasbourg"),
    ("69", "du Rhône", "Lyon"),
    ("72", "de la Sarthe", "Le Mans"),
    ("74", "de la Haute-Savoie", "Annecy"),
    ("75", "de Paris", "Paris"),
    ("76", "de la Seine-Maritime", "Rouen"),
    ("80", "de la Somme", "Amiens"),
    ("84", "du Vaucluse", "Avignon"),
    ("86", "de la Vienne", "Poitiers"),
    ("93", "de la Seine-Saint-Denis", "Saint-Denis"),
];

const TOWNS: [&str; 40] = [
    "Aubagne",
    "Auch",
    "Bègles",
    "Béziers",
    "Blois",
    "Brest",
    "Cahors",
    "Chambéry",
    "Cholet",
    "Colmar",
    "Dax",
    "Dole",
    "Épinal",
    "Fécamp",
    "Figeac",
    "Gap",
    "Lannion",
    "Laval",
    "Lens",
    "Libourne",
    "Lorient",
    "Mâcon",
    "Mérignac",
    "Millau",
    "Montreuil",
    "Morlaix",
    "Narbonne",
    "Niort",
    "Pessac",
    "Redon",
    "Rodez",
    "Roubaix",
    "Saintes",
    "Sète",
    "Tarbes",
    "Thiers",
    "Vichy",
    "Vierzon",
    "Villeurbanne",
    "Vitré",
];

/// (start of the name, sector).
const ASSOCIATION_KINDS: [(&str, &str); 20] = [
    ("Les Jardins de", "Insertion par l'activité économique"),
    ("Ressourcerie de", "Économie circulaire"),
    ("Atelier vélo de", "Économie circulaire"),
    ("Cinéma associatif de", "Culture"),
    ("Compagnie théâtrale de", "Spectacle vivant"),
    ("École de musique de", "Culture"),
    ("Maison des familles de", "Action sociale"),
    ("Centre social de", "Action sociale"),
    ("Épicerie solidaire de", "Alimentation durable"),
    ("Les Petites Cantines de", "Alimentation durable"),
    ("Sport pour toutes à", "Sport"),
    ("Union sportive de", "Sport"),
    ("Lire et faire lire à", "Éducation populaire"),
    ("Amicale laïque de", "Éducation populaire"),
    ("Foyer rural de", "Éducation populaire"),
    ("Radio associative de", "Médias"),
    ("Tiers-lieu de", "Développement local"),
    ("Aide à domicile de", "Services à la personne"),
    (
        "Chantier d'insertion de",
        "Insertion par l'activité économique",
    ),
    ("Accueil de jour de", "Hébergement et logement"),
];

const NAME_ENDINGS: [&str; 8] = [
    "",
    "",
    "",
    " et environs",
    " Solidaire",
    " Centre",
    " Nord",
    " Sud",
];

const THEMATICS: [&str; 6] = [
    "Hybridation des ressources",
    "Modèles socio-économiques",
    "Alliances avec les entreprises du territoire",
    "Gouvernance et bénévolat",
    "Diversifier ses financements",
    "Consolider l'emploi associatif",
];

const FIRMS: [&str; 8] = [
    "Cabinet Trajectoires",
    "Coopérative Ressources et Territoires",
    "Atelier du Lien",
    "Conseil Horizon ESS",
    "Scop Parcours",
    "Initiatives et Cité",
    "Cabinet Boussole",
    "Tisser Conseil",
];

const FIRST_NAMES: [&str; 40] = [
    "Nadia",
    "Julien",
    "Sophie",
    "Karim",
    "Laura",
    "Marc",
    "Inès",
    "Claire",
    "Pierre",
    "Hélène",
    "Thomas",
    "Odile",
    "Yves",
    "Anne",
    "Jean-Marc",
    "Camille",
    "Léa",
    "Hugo",
    "Manon",
    "Louis",
    "Chloé",
    "Nicolas",
    "Emma",
    "Antoine",
    "Sarah",
    "Mathieu",
    "Julie",
    "Rachid",
    "Élodie",
    "Vincent",
    "Aurélie",
    "Fatou",
    "Benoît",
    "Céline",
    "Mehdi",
    "Isabelle",
    "François",
    "Amandine",
    "Olivier",
    "Zoé",
];

const LAST_NAMES: [&str; 40] = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Benali",
    "Haddad",
    "Carvalho",
    "Nguyen",
    "Diallo",
    "Fontaine",
    "Chevalier",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
];

/// `cohorte bench-mail`: queues, in a database without cohorts, `count` emails due at
/// `due`, each to its own address at `domain`, for the email throughput step of `scripts/bench mail` (docs/BENCHMARKS.md).
/// Each is shaped like a convocation — a text part, an HTML part and an invitation, about
/// 6 KB as sent — with fixed texts, so that the measure depends on no cohort. Written in
/// one transaction. Returns how many were queued.
pub fn queue_emails(
    tx: &mut Tx,
    count: usize,
    domain: &str,
    due: chrono::DateTime<chrono::Utc>,
) -> Result<usize, AppError> {
    use crate::mail::{CalendarPart, Email, Method, Rendered};
    use crate::models::outbox::{NewEmail, enqueue};
    if !cohort::is_database_empty(tx)? {
        return Err(AppError::Conflict {
            code: "database_not_empty",
            message: "La base contient des cohortes : les e-mails d'essai se préparent dans une \
                      base vide (indiquez-en une autre avec DATABASE_URL)."
                .into(),
        });
    }
    let agenda = "Tour de table des associations et de leurs attentes.\n\
                  Constats partagés sur les trois piliers du modèle socio-économique : \
                  richesses humaines, financières et alliances.\n\
                  Analyse croisée, puis premières pistes d'actions par association.\n";
    let text = format!(
        "Bonjour,\n\nVous êtes convoqué·e à la session collective « État des lieux » de la \
         cohorte « Modèles socio-économiques 2027 », le lundi 15 février 2027 de 9 h 30 à \
         16 h 00, à la Maison des associations, 12 rue du Palais-Gallien, 33000 Bordeaux.\n\n\
         Au programme :\n{agenda}\nÀ préparer avant la session : l'état des lieux des \
         missions et du modèle socio-économique de votre association (à rendre le lundi \
         8 février 2027).\n\nVotre espace : [lien de connexion personnel]\n\n\
         L'invitation jointe ajoute la session à votre agenda.\n\nÀ bientôt,\n\
         Claire Martin, chargée de mission, DLA de la Gironde\n"
    );
    let html = format!(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Convocation\
         </title></head><body style=\"font-family: sans-serif; line-height: 1.5\">\
         {}</body></html>",
        text.split("\n\n")
            .map(|p| format!("<p>{}</p>", p.replace('\n', "<br>")))
            .collect::<String>()
    );
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Cohorte//Cohorte//FR\r\n\
               METHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:7d1e5b9a-3333-4000-8000-0000000000cc@cohorte\r\n\
               SEQUENCE:1\r\nDTSTAMP:20270201T080000Z\r\nDTSTART:20270215T083000Z\r\n\
               DTEND:20270215T150000Z\r\nSUMMARY:État des lieux — Modèles socio-économiques \
               2027\r\nLOCATION:Maison des associations\\, 12 rue du Palais-Gallien\\, 33000 \
               Bordeaux\r\nDESCRIPTION:Tour de table des associations et de leurs attentes.\\n\
               Constats partagés sur les trois piliers.\\nAnalyse croisée.\r\n\
               ORGANIZER;CN=Claire Martin:mailto:claire.martin@dla33.fr\r\n\
               ATTENDEE;CN=Participant·e;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:p@example.org\r\n\
               STATUS:CONFIRMED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    let mut queued = 0;
    for i in 0..count {
        let email = Email {
            to_name: format!("Participant·e {i}"),
            to_address: format!("p{i}@{domain}"),
            rendered: Rendered {
                subject: "Convocation : État des lieux, lundi 15 février 2027".into(),
                text: text.clone(),
                html: html.clone(),
            },
            calendar: Some(CalendarPart {
                method: Method::Request,
                ics: ics.to_string(),
            }),
        };
        let row = NewEmail::from_email("convocation", &format!("bench-{i}"), 1, &email, due);
        queued += usize::from(enqueue(tx, row)?.is_some());
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_names() {
        let names = |seed| {
            let mut rng = Rng::new(seed);
            (0..20)
                .map(|_| association_seed(&mut rng, "Bordeaux").name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(1), names(1));
        assert_ne!(names(1), names(2));
    }

    #[test]
    fn addresses_are_plain_ascii() {
        assert_eq!(
            slug("Épicerie solidaire de Mâcon"),
            "epicerie-solidaire-de-macon"
        );
        assert_eq!(slug("Jean-Marc"), "jean-marc");
        assert_eq!(slug("L'Étincelle  !"), "l-etincelle");
    }

    #[test]
    fn the_officer_s_cohorts_start_on_the_same_spread_dates_at_every_size() {
        let dates: Vec<i64> = (1..25).map(spread_days_back).collect();
        assert_eq!(dates[0], 4 * 365);
        assert_eq!(dates[23], -365);
        assert!(dates.windows(2).all(|w| w[0] > w[1]), "{dates:?}");
        assert_eq!(spread_days_back(25), dates[0]);
    }

    #[test]
    fn the_officer_reaches_about_25_cohorts_at_national_size() {
        assert_eq!(officer_cohorts(3000, 120, first_stride(3000, 120)), 25);
        assert_eq!(officer_cohorts(10, 1, first_stride(10, 1)), 10);
        // The benchmark's reference: a tenth of the cohorts over the same 120 DLAs.
        assert_eq!(officer_cohorts(300, 120, first_stride(300, 120)), 25);
        assert_eq!(officer_cohorts(300, 12, first_stride(300, 12)), 25);
        // A small instance over an explicit network: the first DLA runs half, not all.
        assert_eq!(officer_cohorts(20, 4, first_stride(20, 4)), 10);
    }

    #[test]
    fn with_the_default_network_cohort_k_is_dla_k_mod_m_s() {
        for (n, m) in [(3000, 120), (300, 12), (10, 1), (50, 2)] {
            let stride = first_stride(n, m);
            assert_eq!(stride, m, "{n} cohorts");
            for k in 0..n {
                let (owner, partner) = owners(k, m, stride);
                assert_eq!(owner, k % m, "cohort {k} of {n}");
                if m > 1 && k % 4 == 0 {
                    assert_eq!(partner, Some(1 + owner % (m - 1)));
                } else {
                    assert_eq!(partner, None);
                }
            }
        }
    }

    #[test]
    fn over_a_larger_network_every_dla_runs_cohorts_and_the_first_is_nobody_s_partner() {
        let (n, m) = (300, 120);
        let stride = first_stride(n, m);
        let mut runs = vec![0; m];
        for k in 0..n {
            let (owner, partner) = owners(k, m, stride);
            runs[owner] += 1;
            assert_ne!(partner, Some(0));
            assert_ne!(partner, Some(owner));
        }
        assert_eq!(runs[0], 25);
        assert!(runs[1..].iter().all(|r| (2..=3).contains(r)), "{runs:?}");
    }
}
