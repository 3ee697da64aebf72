//! The demo associations' socio-economic models: eight realistic and deliberately varied
//! profiles (an insertion structure living on State aid, a cinema living on its box office,
//! a family centre hanging on one département, a ressourcerie living on its sales, a small
//! sports club, a reading network, a young restaurant funded by patrons, a theatre company
//! mixing public money and earned income), so that the mirror shows at a glance who depends
//! on one funder and who has hybridised. Two also have their target model.

use crate::db::Tx;
use crate::domain::profile::{
    Alliance, Das, Finances, Human, Levers, Profile, Reading, Resource, ResourceAmount,
};
use crate::error::AppError;
use crate::models::profile;

use Resource::*;

struct Demo {
    /// The demo association it belongs to (`demo::ASSOCIATIONS`, same order: the test
    /// checks it).
    #[cfg_attr(not(test), allow(dead_code))]
    name: &'static str,
    /// (employees, FTE hundredths, volunteers, volunteer hours, civic service, skills days)
    human: (u32, u32, u32, u32, u32, u32),
    /// Resources in euros.
    money: &'static [(Resource, i64)],
    largest: (&'static str, i64),
    alliances: &'static [(&'static str, &'static str, &'static str)],
    das: &'static [(&'static str, u32)],
    reading: [&'static str; 4],
    named: bool,
}

const DEMOS: [Demo; 8] = [
    // Les Jardins de Garonne: insertion, 71 % public money.
    Demo {
        name: "Les Jardins de Garonne",
        human: (12, 980, 15, 900, 1, 0),
        money: &[
            (SubventionEtat, 180_000),
            (SubventionDepartement, 60_000),
            (SubventionCommune, 20_000),
            (Ventes, 90_000),
            (MecenatFondations, 15_000),
        ],
        largest: ("État (aides aux postes d'insertion)", 180_000),
        alliances: &[
            ("Biocoop Bordeaux", "entreprise", "production"),
            ("Bordeaux Métropole", "collectivite", "positionnement"),
            ("Fondation Raja", "fondation", "moyens"),
        ],
        das: &[
            ("Maraîchage d'insertion", 7_000),
            ("Paniers solidaires", 3_000),
        ],
        reading: [
            "Un savoir-faire reconnu dans l'accompagnement des salarié·es en insertion ; des paniers appréciés.",
            "Les aides aux postes pèsent la moitié du budget ; la vente de légumes plafonne.",
            "Une baisse des aides de l'État fragiliserait toute la structure.",
            "Doubler les ventes aux restaurants collectifs d'ici trois ans.",
        ],
        named: true,
    },
    // Cinéma Le Festival: box office first, then the commune.
    Demo {
        name: "Cinéma Le Festival",
        human: (6, 520, 40, 3_200, 2, 0),
        money: &[
            (Ventes, 210_000),
            (SubventionCommune, 80_000),
            (SubventionRegion, 30_000),
            (SubventionEtat, 25_000),
            (MecenatEntreprises, 10_000),
        ],
        largest: ("Ville de Pessac", 80_000),
        alliances: &[
            ("Université Bordeaux Montaigne", "academique", "production"),
            (
                "Association des cinémas de proximité",
                "association",
                "positionnement",
            ),
            ("Crédit Mutuel du Sud-Ouest", "entreprise", "moyens"),
            ("Ville de Pessac", "collectivite", "moyens"),
        ],
        das: &[("Exploitation", 8_000), ("Éducation à l'image", 2_000)],
        reading: [
            "Un public fidèle et une programmation reconnue ; 40 bénévoles actifs.",
            "Un équipement vieillissant à renouveler.",
            "Une baisse de fréquentation après une fermeture pour travaux.",
            "Développer l'éducation à l'image avec les collèges du territoire.",
        ],
        named: true,
    },
    // Maison des Familles du Médoc: one département carries more than half.
    Demo {
        name: "Maison des Familles du Médoc",
        human: (4, 320, 12, 600, 1, 0),
        money: &[
            (SubventionDepartement, 110_000),
            (SubventionCommune, 30_000),
            (SubventionEtat, 20_000),
            (Autres, 40_000),
        ],
        largest: ("Département de la Gironde", 110_000),
        alliances: &[("Centre social du Médoc", "association", "production")],
        das: &[],
        reading: [
            "Une équipe de confiance, seule structure de ce type sur le territoire.",
            "Aucune ressource propre ; une seule collectivité porte l'essentiel.",
            "La fin de la convention départementale en 2027.",
            "Sécuriser le budget sur trois ans et trouver un second financeur.",
        ],
        named: false,
    },
    // Ressourcerie L'Étincelle: lives on its sales and a collection contract.
    Demo {
        name: "Ressourcerie L'Étincelle",
        human: (9, 780, 25, 2_000, 0, 4),
        money: &[
            (Ventes, 150_000),
            (CommandePublique, 60_000),
            (SubventionRegion, 25_000),
            (SubventionEtat, 20_000),
            (DonsParticuliers, 5_000),
        ],
        largest: ("Bordeaux Métropole (marché de collecte)", 60_000),
        alliances: &[
            ("Emmaüs Gironde", "association", "production"),
            ("Bordeaux Métropole", "collectivite", "positionnement"),
        ],
        das: &[("Boutique", 6_000), ("Collecte et tri", 4_000)],
        reading: [
            "Des ventes en progression et une boutique bien placée.",
            "Un modèle très marchand, sensible à la conjoncture.",
            "La perte du marché de collecte au prochain appel d'offres.",
            "Ouvrir une seconde boutique et des ateliers de réparation.",
        ],
        named: true,
    },
    // Sport Pour Toutes: small, members and the town.
    Demo {
        name: "Sport Pour Toutes",
        human: (1, 80, 30, 2_400, 1, 0),
        money: &[
            (Cotisations, 35_000),
            (SubventionCommune, 15_000),
            (SubventionEtat, 8_000),
            (SubventionDepartement, 5_000),
        ],
        largest: ("Ville de Bordeaux", 15_000),
        alliances: &[("Collège Jean-Moulin", "collectivite", "production")],
        das: &[],
        reading: [
            "Des adhérentes engagées et une forte présence dans les quartiers.",
            "Une seule salariée, beaucoup repose sur les bénévoles.",
            "L'épuisement des bénévoles dirigeantes.",
            "Structurer la gouvernance et recruter un second poste.",
        ],
        named: false,
    },
    // Lire et Faire Lire Gironde: public money, some foundations.
    Demo {
        name: "Lire et Faire Lire Gironde",
        human: (2, 180, 320, 12_800, 0, 0),
        money: &[
            (SubventionDepartement, 25_000),
            (SubventionEtat, 20_000),
            (MecenatFondations, 15_000),
            (DonsParticuliers, 5_000),
            (Cotisations, 3_000),
        ],
        largest: ("Département de la Gironde", 25_000),
        alliances: &[
            (
                "Réseau des médiathèques de Gironde",
                "collectivite",
                "production",
            ),
            ("Fondation SNCF", "fondation", "moyens"),
            ("Ligue de l'enseignement", "association", "positionnement"),
        ],
        das: &[],
        reading: [
            "320 bénévoles lecteurs : une richesse humaine considérable.",
            "Le bénévolat n'est ni mesuré ni valorisé dans les comptes.",
            "Un réseau qui vieillit et se renouvelle peu.",
            "Valoriser le bénévolat et rajeunir le réseau des lecteurs.",
        ],
        named: true,
    },
    // Les Petites Cantines Bastide: young, funded by patrons and a crowdfunding.
    Demo {
        name: "Les Petites Cantines Bastide",
        human: (3, 250, 60, 3_500, 2, 10),
        money: &[
            (MecenatEntreprises, 40_000),
            (MecenatFondations, 30_000),
            (FinancementParticipatif, 20_000),
            (Ventes, 35_000),
            (SubventionCommune, 10_000),
        ],
        largest: ("Fondation Daniel et Nina Carasso", 30_000),
        alliances: &[
            (
                "Réseau des Petites Cantines",
                "association",
                "positionnement",
            ),
            (
                "Groupe Casino (mécénat de compétences)",
                "entreprise",
                "moyens",
            ),
        ],
        das: &[],
        reading: [
            "Un concept qui attire les mécènes et les bénévoles.",
            "Des ressources privées à renouveler chaque année.",
            "La fin des dons de lancement après trois ans.",
            "Atteindre l'équilibre avec les repas et des prestations traiteur.",
        ],
        named: false,
    },
    // Compagnie Théâtre des Chimères: public money and earned income balance.
    Demo {
        name: "Compagnie Théâtre des Chimères",
        human: (5, 420, 8, 300, 0, 0),
        money: &[
            (SubventionRegion, 70_000),
            (SubventionEtat, 50_000),
            (SubventionCommune, 30_000),
            (Ventes, 60_000),
            (Prestations, 40_000),
            (Formation, 15_000),
        ],
        largest: ("Région Nouvelle-Aquitaine", 70_000),
        alliances: &[
            (
                "Scène nationale Carré-Colonnes",
                "collectivite",
                "production",
            ),
            ("Lycée Pape-Clément", "collectivite", "production"),
            (
                "Agence culturelle départementale",
                "collectivite",
                "positionnement",
            ),
        ],
        das: &[
            ("Création", 5_000),
            ("Ateliers et formation", 3_500),
            ("Diffusion", 1_500),
        ],
        reading: [
            "Des ateliers qui se vendent bien et un réseau de diffuseurs fidèle.",
            "Les créations dépendent des aides au projet, incertaines d'une année sur l'autre.",
            "La baisse des budgets culturels des collectivités.",
            "Faire des ateliers et de la formation un pilier à part entière.",
        ],
        named: true,
    },
];

fn profile_of(d: &Demo) -> Profile {
    let (employees, fte, volunteers, hours, civic, skills) = d.human;
    let [strengths, fragilities, risks, ambition] = d.reading;
    Profile {
        human: Human {
            employees: Some(employees),
            employees_fte_hundredths: Some(fte),
            volunteers: Some(volunteers),
            volunteer_hours: Some(hours),
            civic_service: Some(civic),
            skills_sponsorship_days: Some(skills),
        },
        finances: Finances {
            year: Some(2025),
            resources: d
                .money
                .iter()
                .map(|(r, euros)| ResourceAmount {
                    resource: *r,
                    amount_cents: euros * 100,
                })
                .collect(),
            largest_funder_name: d.largest.0.into(),
            largest_funder_cents: Some(d.largest.1 * 100),
        },
        alliances: d
            .alliances
            .iter()
            .map(|(partner, kind, nature)| Alliance {
                partner: (*partner).into(),
                actor_kind: (*kind).into(),
                nature: (*nature).into(),
            })
            .collect(),
        das: d
            .das
            .iter()
            .map(|(name, share)| Das {
                name: (*name).into(),
                budget_share_bp: Some(*share),
                notes: String::new(),
            })
            .collect(),
        reading: Reading {
            strengths: strengths.into(),
            fragilities: fragilities.into(),
            risks: risks.into(),
            ambition: ambition.into(),
        },
        levers: Levers::default(),
    }
}

/// Stores a socio-economic model for each association of `association_ids`, in turn from
/// the `first`-th demo model (the demo passes its associations in `demo::ASSOCIATIONS`'
/// order from 0, so each gets its own), and the target model of those given the first two.
pub fn load_in_turn(tx: &mut Tx, association_ids: &[String], first: usize) -> Result<(), AppError> {
    for (k, id) in association_ids.iter().enumerate() {
        let i = (first + k) % DEMOS.len();
        let d = &DEMOS[i];
        let p = profile_of(d);
        profile::save(tx, id, "etat_des_lieux", &p, "0", "l'équipe")?;
        profile::set_mirror_named(tx, id, d.named)?;
        if i < 2 {
            let mut target = p.clone();
            // What they aim for: more earned income and a first corporate patron, so the
            // before / after page has figures to compare.
            for line in target.finances.resources.iter_mut() {
                if line.resource == Ventes {
                    line.amount_cents = line.amount_cents * 16 / 10;
                }
            }
            target.finances.resources.push(ResourceAmount {
                resource: Formation,
                amount_cents: 20_000 * 100,
            });
            if !target
                .finances
                .resources
                .iter()
                .any(|l| l.resource == MecenatEntreprises)
            {
                target.finances.resources.push(ResourceAmount {
                    resource: MecenatEntreprises,
                    amount_cents: 15_000 * 100,
                });
            }
            target.levers = Levers {
                human: "Former deux encadrant·es techniques ; un service civique de plus.".into(),
                financial: "Conventions pluriannuelles avec la métropole ; ventes aux \
                            restaurants collectifs et aux comités d'entreprise."
                    .into(),
                alliances: "Un partenariat de production avec une entreprise de la \
                            restauration collective."
                    .into(),
                actions: "Rencontrer trois restaurants collectifs avant juin\nRépondre à \
                          l'appel à projets de la Région\nValoriser le bénévolat dans les \
                          comptes"
                    .into(),
            };
            profile::save(tx, id, "cible", &target, "0", "l'équipe")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::profile::indicators;

    #[test]
    fn the_demo_profiles_are_valid_and_varied() {
        let all: Vec<_> = DEMOS.iter().map(profile_of).collect();
        for p in &all {
            assert!(p.check().is_empty(), "{:?}", p.check());
        }

        let ind: Vec<_> = all.iter().map(indicators).collect();
        assert!(
            ind.iter().any(|i| i.dependent),
            "someone depends on one funder"
        );
        assert_eq!(
            ind.iter().filter(|i| i.dependent).count(),
            1,
            "one depends on one funder"
        );
        assert_eq!(
            ind.iter().filter(|i| i.hybridised).count(),
            3,
            "three have hybridised"
        );
        assert!(
            ind.iter().any(|i| !i.dependent && !i.hybridised),
            "and some are in between"
        );
        assert!(DEMOS.iter().any(|d| d.named) && DEMOS.iter().any(|d| !d.named));
        // Every demo association has its profile, in the same order (`load_in_turn`).
        for (a, d) in crate::demo::ASSOCIATIONS.iter().zip(&DEMOS) {
            assert_eq!(d.name, a.name);
        }
    }
}
