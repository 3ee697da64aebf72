//! An association's socio-economic model on its three pillars (sources 001, 002, 004):
//! richesses humaines, ressources financières, alliances stratégiques, with its own reading
//! (strengths, fragilities, risks, ambition); and the indicators the cohort mirror compares.
//!
//! Pure: a `Profile` is plain data (stored as JSON by `models::profile`), checked by
//! [`Profile::check`] (French messages per field) and measured by [`indicators`].
//! Money is in euro cents, FTE in hundredths, shares in basis points (10 000 = 100 %).

use serde::{Deserialize, Serialize};

use crate::domain::fr;

/// The resource types of the financial pillar, in the order the form shows them, with the
/// family each belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    SubventionEtat,
    SubventionRegion,
    SubventionDepartement,
    SubventionCommune,
    SubventionEurope,
    MecenatEntreprises,
    MecenatFondations,
    DonsParticuliers,
    FinancementParticipatif,
    Cotisations,
    CommandePublique,
    Ventes,
    Prestations,
    Formation,
    Autres,
}

/// The three families the indicators compare (and « autres »).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Subventions publiques.
    Public,
    /// Mécénat, dons, financement participatif, cotisations.
    Private,
    /// Revenus d'activité: commande publique, ventes, prestations, formation.
    Earned,
    Other,
}

impl Resource {
    pub const ALL: [Resource; 15] = [
        Resource::SubventionEtat,
        Resource::SubventionRegion,
        Resource::SubventionDepartement,
        Resource::SubventionCommune,
        Resource::SubventionEurope,
        Resource::MecenatEntreprises,
        Resource::MecenatFondations,
        Resource::DonsParticuliers,
        Resource::FinancementParticipatif,
        Resource::Cotisations,
        Resource::CommandePublique,
        Resource::Ventes,
        Resource::Prestations,
        Resource::Formation,
        Resource::Autres,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Resource::SubventionEtat => "subvention_etat",
            Resource::SubventionRegion => "subvention_region",
            Resource::SubventionDepartement => "subvention_departement",
            Resource::SubventionCommune => "subvention_commune",
            Resource::SubventionEurope => "subvention_europe",
            Resource::MecenatEntreprises => "mecenat_entreprises",
            Resource::MecenatFondations => "mecenat_fondations",
            Resource::DonsParticuliers => "dons_particuliers",
            Resource::FinancementParticipatif => "financement_participatif",
            Resource::Cotisations => "cotisations",
            Resource::CommandePublique => "commande_publique",
            Resource::Ventes => "ventes",
            Resource::Prestations => "prestations",
            Resource::Formation => "formation",
            Resource::Autres => "autres",
        }
    }

    pub fn parse(s: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Resource::SubventionEtat => "Subventions de l'État",
            Resource::SubventionRegion => "Subventions de la région",
            Resource::SubventionDepartement => "Subventions du département",
            Resource::SubventionCommune => "Subventions de la commune ou de l'intercommunalité",
            Resource::SubventionEurope => "Fonds européens",
            Resource::MecenatEntreprises => "Mécénat d'entreprises",
            Resource::MecenatFondations => "Mécénat de fondations",
            Resource::DonsParticuliers => "Dons des particuliers",
            Resource::FinancementParticipatif => "Financement participatif",
            Resource::Cotisations => "Cotisations des membres",
            Resource::CommandePublique => "Commande publique (marchés)",
            Resource::Ventes => "Ventes",
            Resource::Prestations => "Prestations de services",
            Resource::Formation => "Formation",
            Resource::Autres => "Autres ressources",
        }
    }

    pub fn family(self) -> Family {
        match self {
            Resource::SubventionEtat
            | Resource::SubventionRegion
            | Resource::SubventionDepartement
            | Resource::SubventionCommune
            | Resource::SubventionEurope => Family::Public,
            Resource::MecenatEntreprises
            | Resource::MecenatFondations
            | Resource::DonsParticuliers
            | Resource::FinancementParticipatif
            | Resource::Cotisations => Family::Private,
            Resource::CommandePublique
            | Resource::Ventes
            | Resource::Prestations
            | Resource::Formation => Family::Earned,
            Resource::Autres => Family::Other,
        }
    }
}

impl Family {
    pub fn label(self) -> &'static str {
        match self {
            Family::Public => "Subventions publiques",
            Family::Private => "Financements privés",
            Family::Earned => "Revenus d'activité",
            Family::Other => "Autres",
        }
    }
}

/// Kinds of partner in an alliance.
pub const ACTOR_KINDS: [(&str, &str); 5] = [
    ("entreprise", "Entreprise"),
    ("collectivite", "Collectivité"),
    ("association", "Association"),
    ("fondation", "Fondation"),
    ("academique", "Acteur académique"),
];

/// Natures of an alliance (source 004).
pub const ALLIANCE_NATURES: [(&str, &str); 3] = [
    ("positionnement", "De positionnement"),
    ("production", "De production / diffusion"),
    ("moyens", "De moyens"),
];

pub fn label_of(pairs: &[(&'static str, &'static str)], code: &str) -> &'static str {
    pairs
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("—")
}

/// Richesses humaines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Human {
    /// Salarié·es: headcount and full-time equivalents (hundredths: 350 = 3,5 ETP).
    pub employees: Option<u32>,
    pub employees_fte_hundredths: Option<u32>,
    /// Bénévoles: how many, and their hours in the year.
    pub volunteers: Option<u32>,
    pub volunteer_hours: Option<u32>,
    /// Volontaires en service civique.
    pub civic_service: Option<u32>,
    /// Mécénat de compétences: days received in the year.
    pub skills_sponsorship_days: Option<u32>,
}

/// One resource line of the last closed year.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResourceAmount {
    #[schema(value_type = String)]
    pub resource: Resource,
    pub amount_cents: i64,
}

/// Ressources financières of the last closed year.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Finances {
    /// The last closed financial year (2025).
    pub year: Option<i32>,
    /// Amounts per resource type; types absent or at 0 are not used.
    pub resources: Vec<ResourceAmount>,
    /// The largest single funder (name, amount), for the dependence indicator.
    pub largest_funder_name: String,
    pub largest_funder_cents: Option<i64>,
}

impl Finances {
    pub fn amount(&self, r: Resource) -> i64 {
        self.resources
            .iter()
            .filter(|l| l.resource == r)
            .map(|l| l.amount_cents)
            .sum()
    }

    pub fn total(&self) -> i64 {
        self.resources.iter().map(|l| l.amount_cents).sum()
    }
}

/// An alliance stratégique.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Alliance {
    pub partner: String,
    /// One of [`ACTOR_KINDS`].
    pub actor_kind: String,
    /// One of [`ALLIANCE_NATURES`].
    pub nature: String,
}

/// A domaine d'activité stratégique, optionally described on its own.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Das {
    pub name: String,
    /// Its share of the association's budget, in basis points.
    pub budget_share_bp: Option<u32>,
    pub notes: String,
}

/// The association's own reading of its model.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Reading {
    pub strengths: String,
    pub fragilities: String,
    pub risks: String,
    pub ambition: String,
}

/// The target model, before the bilan individuel: levers per pillar.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Levers {
    pub human: String,
    pub financial: String,
    pub alliances: String,
    /// Pistes d'actions, one per line.
    pub actions: String,
}

/// A snapshot of the model: the état des lieux, or the target model (`levers` set).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Profile {
    pub human: Human,
    pub finances: Finances,
    pub alliances: Vec<Alliance>,
    pub das: Vec<Das>,
    pub reading: Reading,
    pub levers: Levers,
}

/// A field and its French message.
pub type FieldError = (String, String);

impl Profile {
    /// Consistency checks beyond parsing; every problem with its field name (the form's).
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let h = &self.human;
        if let (Some(n), Some(fte)) = (h.employees, h.employees_fte_hundredths)
            && fte > n * 100
        {
            errors.push((
                "employees_fte".into(),
                format!(
                    "{} ETP pour {n} salarié·e{} : un ETP ne peut pas dépasser le nombre de personnes.",
                    fr::decimal(fte as f64 / 100.0, 2),
                    if n > 1 { "s" } else { "" }
                ),
            ));
        }
        if h.employees == Some(0) && h.employees_fte_hundredths.is_some_and(|f| f > 0) {
            errors.push((
                "employees_fte".into(),
                "Des ETP sans salarié·e : indiquez le nombre de salarié·es.".into(),
            ));
        }
        if h.volunteer_hours.is_some_and(|v| v > 0) && h.volunteers == Some(0) {
            errors.push((
                "volunteers".into(),
                "Des heures de bénévolat sans bénévole : indiquez le nombre de bénévoles.".into(),
            ));
        }
        for l in &self.finances.resources {
            if l.amount_cents < 0 {
                errors.push((
                    format!("resource_{}", l.resource.as_str()),
                    "Un montant ne peut pas être négatif.".into(),
                ));
            }
        }
        if let Some(largest) = self.finances.largest_funder_cents {
            if largest < 0 {
                errors.push((
                    "largest_funder_amount".into(),
                    "Un montant ne peut pas être négatif.".into(),
                ));
            } else if largest > self.finances.total() {
                errors.push((
                    "largest_funder_amount".into(),
                    format!(
                        "Le premier financeur ({}) ne peut pas dépasser le total des ressources ({}).",
                        fr::euros_cents(largest),
                        fr::euros_cents(self.finances.total())
                    ),
                ));
            }
            if self.finances.largest_funder_name.trim().is_empty() {
                errors.push((
                    "largest_funder_name".into(),
                    "Nommez ce premier financeur (par exemple « Région Nouvelle-Aquitaine »)."
                        .into(),
                ));
            }
        }
        for (i, a) in self.alliances.iter().enumerate() {
            if a.partner.trim().is_empty() {
                errors.push((
                    format!("alliance_{i}_partner"),
                    "Nommez le partenaire, ou laissez toute la ligne vide.".into(),
                ));
            }
            if !ACTOR_KINDS.iter().any(|(c, _)| *c == a.actor_kind) {
                errors.push((
                    format!("alliance_{i}_actor_kind"),
                    "Choisissez le type d'acteur.".into(),
                ));
            }
            if !ALLIANCE_NATURES.iter().any(|(c, _)| *c == a.nature) {
                errors.push((
                    format!("alliance_{i}_nature"),
                    "Choisissez la nature de l'alliance.".into(),
                ));
            }
        }
        let das_total: u32 = self.das.iter().filter_map(|d| d.budget_share_bp).sum();
        if das_total > 10_000 {
            errors.push((
                "das".into(),
                format!(
                    "Les parts de budget des domaines d'activité totalisent {} : au plus 100 %.",
                    crate::domain::budget::percent(das_total)
                ),
            ));
        }
        errors
    }
}

/// A share of a family of resources.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Share {
    pub family: Family,
    pub label: &'static str,
    pub cents: i64,
    pub bp: u32,
    pub percent: String,
}

/// The indicators of a profile.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Indicators {
    pub total_cents: i64,
    pub total: String,
    /// Public, private, earned, other — in that order.
    pub shares: Vec<Share>,
    /// The largest funder's share of the resources, when known.
    pub largest_funder_bp: Option<u32>,
    /// The largest resource type's share (a proxy when the funder is not given).
    pub largest_type: Option<(Resource, u32)>,
    /// Distinct resource types with an amount (hybridisation), out of 15.
    pub resource_types: usize,
    /// Families with at least 10 % of the resources.
    pub significant_families: usize,
    /// More than half the resources from one funder (or one type when unknown).
    pub dependent: bool,
    /// Not dependent, and three significant families, or two with none above 60 %.
    pub hybridised: bool,
    pub employees_fte_hundredths: u32,
    /// Volunteer hours in FTE hundredths (1 607 h a year).
    pub volunteer_fte_hundredths: u32,
    pub civic_service: u32,
    pub skills_sponsorship_days: u32,
    /// Alliances per nature: positionnement, production, moyens.
    pub alliances_by_nature: Vec<(String, usize)>,
    pub alliances: usize,
}

/// Annual hours of one full-time equivalent (French legal duration).
pub const FTE_HOURS: u32 = 1_607;

fn bp(part: i64, total: i64) -> u32 {
    if total <= 0 {
        return 0;
    }
    ((part as i128 * 10_000 + total as i128 / 2) / total as i128) as u32
}

pub fn indicators(p: &Profile) -> Indicators {
    let f = &p.finances;
    let total = f.total();
    let shares = [
        Family::Public,
        Family::Private,
        Family::Earned,
        Family::Other,
    ]
    .into_iter()
    .map(|family| {
        let cents: i64 = Resource::ALL
            .into_iter()
            .filter(|r| r.family() == family)
            .map(|r| f.amount(r))
            .sum();
        let share = bp(cents, total);
        Share {
            family,
            label: family.label(),
            cents,
            bp: share,
            percent: crate::domain::budget::percent(share),
        }
    })
    .collect::<Vec<_>>();
    let resource_types = Resource::ALL
        .into_iter()
        .filter(|r| f.amount(*r) > 0)
        .count();
    let largest_type = Resource::ALL
        .into_iter()
        .map(|r| (r, f.amount(r)))
        .filter(|(_, a)| *a > 0)
        .max_by_key(|(_, a)| *a)
        .map(|(r, a)| (r, bp(a, total)));
    let largest_funder_bp = f
        .largest_funder_cents
        .filter(|_| total > 0)
        .map(|c| bp(c, total));
    let top = largest_funder_bp.or(largest_type.map(|(_, b)| b));
    let significant_families = shares
        .iter()
        .filter(|s| s.family != Family::Other && s.bp >= 1_000)
        .count();
    let dependent = top.is_some_and(|b| b > 5_000);
    // Hybrid: three families of resources that each weigh, or two that balance (neither
    // above 60 %), and no single funder carrying more than half.
    let largest_family = shares
        .iter()
        .filter(|s| s.family != Family::Other)
        .map(|s| s.bp)
        .max()
        .unwrap_or(0);
    let hybridised = total > 0
        && !dependent
        && (significant_families >= 3 || (significant_families == 2 && largest_family <= 6_000));
    let alliances_by_nature = ALLIANCE_NATURES
        .iter()
        .map(|(code, label)| {
            (
                label.to_string(),
                p.alliances.iter().filter(|a| a.nature == *code).count(),
            )
        })
        .collect();
    let h = &p.human;
    Indicators {
        total_cents: total,
        total: fr::euros_cents(total),
        shares,
        largest_funder_bp,
        largest_type,
        resource_types,
        significant_families,
        dependent,
        hybridised,
        employees_fte_hundredths: h.employees_fte_hundredths.unwrap_or(0),
        volunteer_fte_hundredths: h.volunteer_hours.unwrap_or(0) * 100 / FTE_HOURS,
        civic_service: h.civic_service.unwrap_or(0),
        skills_sponsorship_days: h.skills_sponsorship_days.unwrap_or(0),
        alliances_by_nature,
        alliances: p.alliances.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(lines: &[(Resource, i64)]) -> Finances {
        Finances {
            year: Some(2025),
            resources: lines
                .iter()
                .map(|(r, euros)| ResourceAmount {
                    resource: *r,
                    amount_cents: euros * 100,
                })
                .collect(),
            ..Finances::default()
        }
    }

    #[test]
    fn one_big_public_funder_makes_a_dependent_model() {
        let p = Profile {
            finances: Finances {
                largest_funder_name: "Région".into(),
                largest_funder_cents: Some(140_000 * 100),
                ..money(&[
                    (Resource::SubventionRegion, 140_000),
                    (Resource::SubventionCommune, 30_000),
                    (Resource::Cotisations, 5_000),
                    (Resource::Ventes, 25_000),
                ])
            },
            ..Profile::default()
        };
        let i = indicators(&p);
        assert_eq!(i.total_cents, 200_000 * 100);
        assert_eq!(i.shares[0].bp, 8_500, "public 85 %");
        assert_eq!(i.shares[1].bp, 250);
        assert_eq!(i.shares[2].bp, 1_250);
        assert_eq!(i.largest_funder_bp, Some(7_000));
        assert_eq!(i.resource_types, 4);
        assert!(i.dependent && !i.hybridised);
        assert_eq!(i.shares[0].percent, "85\u{a0}%");
    }

    #[test]
    fn balanced_resources_make_a_hybridised_model() {
        let p = Profile {
            finances: money(&[
                (Resource::SubventionCommune, 40_000),
                (Resource::SubventionDepartement, 20_000),
                (Resource::MecenatFondations, 30_000),
                (Resource::DonsParticuliers, 10_000),
                (Resource::Prestations, 60_000),
                (Resource::Formation, 40_000),
            ]),
            ..Profile::default()
        };
        let i = indicators(&p);
        assert_eq!(i.significant_families, 3);
        assert_eq!(i.largest_type, Some((Resource::Prestations, 3_000)));
        assert!(!i.dependent && i.hybridised);
        // The shares add up (rounding aside) to 100 %.
        let sum: u32 = i.shares.iter().map(|s| s.bp).sum();
        assert!((9_998..=10_002).contains(&sum), "{sum}");
    }

    #[test]
    fn an_empty_profile_has_no_indicator_to_show() {
        let i = indicators(&Profile::default());
        assert_eq!(i.total_cents, 0);
        assert!(!i.dependent && !i.hybridised);
        assert_eq!(i.largest_type, None);
        assert!(i.shares.iter().all(|s| s.bp == 0));
    }

    #[test]
    fn human_resources_are_counted_in_fte() {
        let p = Profile {
            human: Human {
                employees: Some(4),
                employees_fte_hundredths: Some(350),
                volunteers: Some(25),
                volunteer_hours: Some(3_214),
                civic_service: Some(2),
                skills_sponsorship_days: Some(6),
            },
            ..Profile::default()
        };
        let i = indicators(&p);
        assert_eq!(i.employees_fte_hundredths, 350);
        assert_eq!(i.volunteer_fte_hundredths, 200, "3 214 h = 2 ETP");
        assert!(p.check().is_empty());
    }

    #[test]
    fn inconsistent_figures_are_named_field_by_field() {
        let p = Profile {
            human: Human {
                employees: Some(2),
                employees_fte_hundredths: Some(300),
                volunteers: Some(0),
                volunteer_hours: Some(100),
                ..Human::default()
            },
            finances: Finances {
                largest_funder_name: String::new(),
                largest_funder_cents: Some(500_000),
                ..money(&[(Resource::Ventes, 1_000)])
            },
            alliances: vec![Alliance {
                partner: "Mairie".into(),
                actor_kind: "collectivite".into(),
                nature: "inconnue".into(),
            }],
            das: vec![
                Das {
                    name: "A".into(),
                    budget_share_bp: Some(7_000),
                    notes: String::new(),
                },
                Das {
                    name: "B".into(),
                    budget_share_bp: Some(6_000),
                    notes: String::new(),
                },
            ],
            ..Profile::default()
        };
        let fields: Vec<String> = p.check().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "employees_fte",
                "volunteers",
                "largest_funder_amount",
                "largest_funder_name",
                "alliance_0_nature",
                "das"
            ]
        );
    }

    #[test]
    fn resources_round_trip_through_their_codes_and_json() {
        for r in Resource::ALL {
            assert_eq!(Resource::parse(r.as_str()), Some(r));
        }
        let p = Profile {
            finances: money(&[(Resource::SubventionEurope, 12)]),
            ..Profile::default()
        };
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"subvention_europe\""), "{json}");
        assert_eq!(serde_json::from_str::<Profile>(&json).unwrap(), p);
        // Older or partial JSON still reads.
        assert_eq!(
            serde_json::from_str::<Profile>("{}").unwrap(),
            Profile::default()
        );
    }
}
