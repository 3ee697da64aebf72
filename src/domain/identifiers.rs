//! Association identifiers: RNA (Répertoire national des associations) and
//! SIRET numbers: normalisation and validation with French error messages.

/// Normalises an RNA number: removes spaces, upper-cases, then requires
/// "W" followed by exactly 9 digits (e.g. "W751234567").
pub fn normalize_rna(input: &str) -> Result<String, String> {
    let cleaned: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if cleaned.is_empty() {
        return Err(
            "Le numéro RNA est vide : il s'écrit W suivi de 9 chiffres (ex. W751234567)."
                .to_owned(),
        );
    }
    let valid = cleaned.len() == 10
        && cleaned.starts_with('W')
        && cleaned[1..].chars().all(|c| c.is_ascii_digit());
    if valid {
        Ok(cleaned)
    } else {
        Err("Le numéro RNA doit s'écrire W suivi de 9 chiffres (ex. W751234567).".to_owned())
    }
}

/// SIREN of La Poste, whose establishments follow a different check rule.
const LA_POSTE_SIREN: &str = "356000000";

fn luhn_valid(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Normalises a SIRET: removes spaces (including no-break spaces) and dots,
/// requires 14 digits and a valid Luhn key. La Poste establishments (SIREN
/// 356000000) are also valid when the sum of their digits is a multiple of 5.
pub fn normalize_siret(input: &str) -> Result<String, String> {
    let cleaned: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '.')
        .collect();
    if cleaned.is_empty() {
        return Err("Le SIRET est vide : il comporte 14 chiffres.".to_owned());
    }
    if !cleaned.chars().all(|c| c.is_ascii_digit()) {
        return Err("Le SIRET ne doit contenir que des chiffres (14 chiffres).".to_owned());
    }
    if cleaned.len() != 14 {
        return Err(format!(
            "Le SIRET doit comporter 14 chiffres ({} saisi{}).",
            cleaned.len(),
            if cleaned.len() > 1 { "s" } else { "" }
        ));
    }
    let digits: Vec<u32> = cleaned.chars().filter_map(|c| c.to_digit(10)).collect();
    let la_poste = cleaned.starts_with(LA_POSTE_SIREN) && digits.iter().sum::<u32>() % 5 == 0;
    if luhn_valid(&digits) || la_poste {
        Ok(cleaned)
    } else {
        Err("La clé de contrôle du SIRET est invalide : vérifiez le numéro.".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rna_is_normalised_to_upper_case_without_spaces() {
        assert_eq!(normalize_rna("w751234567").unwrap(), "W751234567");
        assert_eq!(normalize_rna(" W 751 234 567 ").unwrap(), "W751234567");
    }

    #[test]
    fn rna_with_wrong_format_is_refused_with_a_french_message() {
        let msg = "Le numéro RNA doit s'écrire W suivi de 9 chiffres (ex. W751234567).";
        assert_eq!(normalize_rna("W75123456").unwrap_err(), msg);
        assert_eq!(normalize_rna("W7512345678").unwrap_err(), msg);
        assert_eq!(normalize_rna("X751234567").unwrap_err(), msg);
        assert_eq!(normalize_rna("W75123456A").unwrap_err(), msg);
        assert!(normalize_rna("   ").is_err());
    }

    #[test]
    fn valid_siret_is_accepted_and_stripped_of_spaces_and_dots() {
        assert_eq!(normalize_siret("73282932000074").unwrap(), "73282932000074");
        assert_eq!(
            normalize_siret("732 829 320 00074").unwrap(),
            "73282932000074"
        );
        assert_eq!(
            normalize_siret("732.829.320.00074").unwrap(),
            "73282932000074"
        );
        assert_eq!(
            normalize_siret("732\u{a0}829\u{a0}320\u{a0}00074").unwrap(),
            "73282932000074"
        );
    }

    #[test]
    fn siret_with_a_changed_digit_fails_the_check_key() {
        assert_eq!(
            normalize_siret("73282932000075").unwrap_err(),
            "La clé de contrôle du SIRET est invalide : vérifiez le numéro."
        );
        assert!(normalize_siret("73282932100074").is_err());
    }

    #[test]
    fn siret_length_and_character_errors_differ_from_check_key_error() {
        let key_error = "La clé de contrôle du SIRET est invalide : vérifiez le numéro.";
        let short = normalize_siret("7328293200007").unwrap_err();
        assert_eq!(short, "Le SIRET doit comporter 14 chiffres (13 saisis).");
        let letters = normalize_siret("7328293200007A").unwrap_err();
        assert_eq!(
            letters,
            "Le SIRET ne doit contenir que des chiffres (14 chiffres)."
        );
        assert_ne!(short, key_error);
        assert!(normalize_siret("").is_err());
    }

    #[test]
    fn la_poste_siret_uses_the_sum_multiple_of_five_rule() {
        assert_eq!(normalize_siret("35600000000048").unwrap(), "35600000000048");
        // Fails Luhn but the digit sum (45) is a multiple of 5.
        assert!(!luhn_valid(&[3, 5, 6, 0, 0, 0, 0, 0, 0, 4, 9, 8, 3, 7]));
        assert_eq!(normalize_siret("35600000049837").unwrap(), "35600000049837");
        // Neither rule holds.
        assert!(normalize_siret("35600000049838").is_err());
    }
}
