-- The association's socio-economic model (issue #7): one snapshot per stage — the état des
-- lieux, then the target model before the bilan — as a JSON document
-- (domain::profile::Profile), and whether peers see the association by name in the mirror.

CREATE TABLE association_profiles (
    association_id TEXT NOT NULL REFERENCES associations(id) ON DELETE CASCADE,
    -- etat_des_lieux | cible
    stage TEXT NOT NULL,
    data TEXT NOT NULL,
    -- Who saved it last, as shown: « l'équipe » or a participant's name.
    updated_by TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (association_id, stage)
);

-- In the cohort mirror, peers see the association by name only when it says so.
ALTER TABLE associations ADD COLUMN mirror_named BOOLEAN NOT NULL DEFAULT FALSE;
