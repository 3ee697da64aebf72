//! Diesel table definitions, one for both backends (see migrations/{sqlite,postgres}).

diesel::table! {
    dlas (id) {
        id -> Text,
        name -> Text,
        area -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        email -> Text,
    }
}

diesel::table! {
    consultants (id) {
        id -> Text,
        name -> Text,
        firm -> Text,
        email -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    /// The DLAs a consultant record belongs to (or is shared with); none = administrators only.
    consultant_dlas (consultant_id, dla_id) {
        consultant_id -> Text,
        dla_id -> Text,
    }
}

diesel::table! {
    cohorts (id) {
        id -> Text,
        dla_id -> Text,
        name -> Text,
        territory -> Text,
        approach -> Text,
        thematic -> Nullable<Text>,
        start_date -> Date,
        status -> Text,
        association_cap -> Integer,
        consultant_id -> Nullable<Text>,
        programme_template -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
        mail_settings -> Nullable<Text>,
        officer_name -> Text,
        officer_email -> Text,
        mail_dirty -> Bool,
        purged_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    cohort_partners (cohort_id, dla_id) {
        cohort_id -> Text,
        dla_id -> Text,
    }
}

diesel::table! {
    associations (id) {
        id -> Text,
        cohort_id -> Text,
        name -> Text,
        rna -> Nullable<Text>,
        siret -> Nullable<Text>,
        creation_year -> Nullable<Integer>,
        salaried_staff -> Nullable<Integer>,
        sector -> Text,
        town -> Text,
        general_interest -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        mirror_named -> Bool,
        anonymised_at -> Nullable<Timestamp>,
        creation_date -> Nullable<Date>,
        name_key -> Nullable<Text>,
        has_director -> Bool,
        has_governance -> Bool,
    }
}

diesel::table! {
    participants (id) {
        id -> Text,
        association_id -> Text,
        name -> Text,
        email -> Text,
        role -> Text,
        function -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        reminders -> Bool,
        feed_generation -> Integer,
        anonymised_at -> Nullable<Timestamp>,
        version -> Integer,
        commitment_confirmed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        cohort_id -> Text,
        kind -> Text,
        association_id -> Nullable<Text>,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        location -> Text,
        video_link -> Text,
        agenda -> Text,
        planned_half_days -> Integer,
        sequence -> Integer,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        place_id -> Nullable<Text>,
    }
}

diesel::table! {
    /// A DLA's places (issue #17); archived ones stay for the sessions that used them.
    places (id) {
        id -> Text,
        dla_id -> Text,
        name -> Text,
        address -> Text,
        archived_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// A staff member's private calendar feed generation (no row = 0).
    staff_feeds (user_id) {
        user_id -> Text,
        generation -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    intersession_tasks (id) {
        id -> Text,
        cohort_id -> Text,
        session_id -> Nullable<Text>,
        title -> Text,
        instructions -> Text,
        due_date -> Date,
        preparation_half_days -> Integer,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    task_returns (task_id, association_id) {
        task_id -> Text,
        association_id -> Text,
        status -> Text,
        returned_on -> Nullable<Date>,
        updated_at -> Timestamp,
        answer -> Text,
    }
}

diesel::table! {
    outbox_emails (id) {
        id -> Text,
        cohort_id -> Nullable<Text>,
        kind -> Text,
        item_id -> Text,
        recipient_email -> Text,
        recipient_name -> Text,
        participant_id -> Nullable<Text>,
        revision -> Integer,
        dedup_key -> Text,
        subject -> Text,
        ics_method -> Nullable<Text>,
        status -> Text,
        send_after -> Timestamp,
        not_after -> Nullable<Timestamp>,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        next_attempt_at -> Timestamp,
        message_id -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        note -> Nullable<Text>,
        claim_token -> Nullable<Text>,
        first_due_at -> Nullable<Timestamp>,
        unconfirmed -> Integer,
        last_error_detail -> Nullable<Text>,
    }
}

diesel::table! {
    /// An outbox row's rendered bodies (1:1), out of the rows that scans read.
    outbox_bodies (email_id) {
        email_id -> Text,
        body_text -> Text,
        body_html -> Text,
        ics -> Nullable<Text>,
        packed -> Nullable<Binary>,
        settled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// What each email carrying an invite told the recipient's calendar (1:1 with the row).
    invite_copies (email_id) {
        email_id -> Text,
        session_id -> Text,
        sequence -> Integer,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        location -> Text,
        video_link -> Text,
        title_digest -> Text,
        agenda_digest -> Text,
    }
}

diesel::table! {
    instance_secrets (name) {
        name -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    cohort_budgets (cohort_id) {
        cohort_id -> Text,
        contracted_half_days -> Integer,
        day_rate_cents -> BigInt,
        day_minutes -> Integer,
        version -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    cohort_funders (id) {
        id -> Text,
        cohort_id -> Text,
        name -> Text,
        dla_id -> Nullable<Text>,
        share_bp -> Integer,
        position -> Integer,
    }
}

diesel::table! {
    time_entries (id) {
        id -> Text,
        cohort_id -> Text,
        entry_date -> Date,
        kind -> Text,
        half_days -> Nullable<Integer>,
        minutes -> Nullable<Integer>,
        session_id -> Nullable<Text>,
        association_id -> Nullable<Text>,
        comment -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    session_logs (session_id) {
        session_id -> Text,
        third_party_kind -> Text,
        third_party_name -> Text,
        notes -> Text,
        version -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    session_guests (id) {
        id -> Text,
        session_id -> Text,
        name -> Text,
        email -> Text,
        organisation -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    evaluations (association_id) {
        association_id -> Text,
        cohort_id -> Text,
        understanding -> Text,
        pistes -> Text,
        satisfaction_introductive -> Nullable<Integer>,
        satisfaction_etat_des_lieux -> Nullable<Integer>,
        satisfaction_evolution -> Nullable<Integer>,
        satisfaction_bilan -> Nullable<Integer>,
        recommend -> Text,
        comment -> Text,
        answered_at -> Nullable<Timestamp>,
        answered_by -> Nullable<Text>,
        followup -> Text,
        followup_at -> Nullable<Timestamp>,
        followup_by -> Nullable<Text>,
        version -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    attendances (session_id, participant_id, half_day) {
        session_id -> Text,
        participant_id -> Text,
        half_day -> Integer,
        status -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    action_leads (id) {
        id -> Text,
        cohort_id -> Text,
        association_id -> Text,
        session_id -> Nullable<Text>,
        text -> Text,
        owner -> Text,
        due_date -> Nullable<Date>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    association_profiles (association_id, stage) {
        association_id -> Text,
        stage -> Text,
        data -> Text,
        updated_by -> Text,
        version -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        role -> Text,
        dla_id -> Nullable<Text>,
        consultant_id -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        disabled -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    auth_sessions (token_hash) {
        token_hash -> Text,
        user_id -> Nullable<Text>,
        participant_id -> Nullable<Text>,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    auth_links (token_hash) {
        token_hash -> Text,
        purpose -> Text,
        user_id -> Nullable<Text>,
        participant_id -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sign_in_failures (id) {
        id -> Text,
        email -> Text,
        address -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        token_hash -> Text,
        prefix -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        at -> Timestamp,
        actor -> Text,
        actor_user_id -> Nullable<Text>,
        cohort_id -> Nullable<Text>,
        entity -> Text,
        entity_id -> Text,
        action -> Text,
        before_data -> Nullable<Text>,
        after_data -> Nullable<Text>,
    }
}

diesel::table! {
    /// A cohort's call for applications (one per cohort).
    calls (cohort_id) {
        cohort_id -> Text,
        token -> Nullable<Text>,
        closes_on -> Date,
        presentation -> Text,
        meeting_starts_at -> Nullable<Timestamp>,
        meeting_ends_at -> Nullable<Timestamp>,
        meeting_location -> Text,
        meeting_video_link -> Text,
        meeting_sequence -> Integer,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// An association's application to a cohort's call.
    applications (id) {
        id -> Text,
        cohort_id -> Text,
        edit_token_hash -> Text,
        status -> Text,
        name -> Text,
        rna -> Nullable<Text>,
        siret -> Nullable<Text>,
        town -> Text,
        creation_date -> Nullable<Date>,
        creation_year -> Nullable<Integer>,
        salaried_staff -> Nullable<Integer>,
        fte_hundredths -> Nullable<Integer>,
        volunteers -> Nullable<Integer>,
        sector -> Text,
        general_interest -> Bool,
        director_name -> Text,
        director_function -> Text,
        director_email -> Text,
        board_name -> Text,
        board_function -> Text,
        board_email -> Text,
        motivation -> Text,
        available_all -> Bool,
        availability_note -> Text,
        consent_data -> Bool,
        consent_named -> Bool,
        submitted_at -> Timestamp,
        updated_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        decided_by -> Text,
        association_id -> Nullable<Text>,
        version -> Integer,
    }
}

diesel::table! {
    /// A call's decision emails as edited for the cohort (one per decided status).
    decision_letters (cohort_id, status) {
        cohort_id -> Text,
        status -> Text,
        subject -> Text,
        body -> Text,
        version -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(cohorts -> dlas (dla_id));
diesel::joinable!(cohorts -> consultants (consultant_id));
diesel::joinable!(consultant_dlas -> consultants (consultant_id));
diesel::joinable!(consultant_dlas -> dlas (dla_id));
diesel::joinable!(cohort_partners -> cohorts (cohort_id));
diesel::joinable!(cohort_partners -> dlas (dla_id));
diesel::joinable!(associations -> cohorts (cohort_id));
diesel::joinable!(participants -> associations (association_id));
diesel::joinable!(sessions -> cohorts (cohort_id));
diesel::joinable!(sessions -> associations (association_id));
diesel::joinable!(intersession_tasks -> cohorts (cohort_id));
diesel::joinable!(intersession_tasks -> sessions (session_id));
diesel::joinable!(task_returns -> intersession_tasks (task_id));
diesel::joinable!(task_returns -> associations (association_id));
diesel::joinable!(outbox_emails -> cohorts (cohort_id));
diesel::joinable!(outbox_emails -> participants (participant_id));
diesel::joinable!(outbox_bodies -> outbox_emails (email_id));
diesel::joinable!(invite_copies -> outbox_emails (email_id));
diesel::joinable!(cohort_budgets -> cohorts (cohort_id));
diesel::joinable!(cohort_funders -> cohorts (cohort_id));
diesel::joinable!(time_entries -> cohorts (cohort_id));
diesel::joinable!(time_entries -> sessions (session_id));
diesel::joinable!(time_entries -> associations (association_id));
diesel::joinable!(session_logs -> sessions (session_id));
diesel::joinable!(attendances -> sessions (session_id));
diesel::joinable!(session_guests -> sessions (session_id));
diesel::joinable!(evaluations -> associations (association_id));
diesel::joinable!(attendances -> participants (participant_id));
diesel::joinable!(action_leads -> associations (association_id));
diesel::joinable!(association_profiles -> associations (association_id));
diesel::joinable!(users -> dlas (dla_id));
diesel::joinable!(users -> consultants (consultant_id));
diesel::joinable!(auth_sessions -> users (user_id));
diesel::joinable!(auth_sessions -> participants (participant_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::table! {
    call_attempts (id) {
        id -> Text,
        kind -> Text,
        digest -> Text,
        application_id -> Nullable<Text>,
        at -> Timestamp,
    }
}

diesel::joinable!(calls -> cohorts (cohort_id));
diesel::joinable!(applications -> cohorts (cohort_id));
diesel::joinable!(applications -> associations (association_id));
diesel::joinable!(decision_letters -> cohorts (cohort_id));

diesel::joinable!(places -> dlas (dla_id));
diesel::joinable!(sessions -> places (place_id));

diesel::allow_tables_to_appear_in_same_query!(
    dlas,
    places,
    staff_feeds,
    consultants,
    consultant_dlas,
    cohorts,
    cohort_partners,
    associations,
    participants,
    sessions,
    intersession_tasks,
    task_returns,
    outbox_emails,
    outbox_bodies,
    invite_copies,
    instance_secrets,
    cohort_budgets,
    cohort_funders,
    time_entries,
    session_logs,
    session_guests,
    evaluations,
    attendances,
    action_leads,
    association_profiles,
    users,
    auth_sessions,
    auth_links,
    sign_in_failures,
    api_tokens,
    audit_log,
    calls,
    applications,
    decision_letters,
    call_attempts,
);
