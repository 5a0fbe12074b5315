//! Recovery with personal data and the security question. (key, French, English)

/// The strings of one language as a tera value: templates read `t.login_title`.
/// The recovery by personal data (`/recover`) and the security question of the account page.
pub const RECOVERY_STRINGS: &[(&str, &str, &str)] = &[
    (
        "recover_title",
        "Récupérer mon mot de passe",
        "Recover my password",
    ),
    (
        "recover_intro",
        "Vous pouvez récupérer votre mot de passe avec votre numéro personnel, votre date de naissance et la réponse à votre question de sécurité.",
        "You can recover your password with your personal number, your date of birth and the answer to your security question.",
    ),
    ("recover_step", "Étape", "Step"),
    ("recover_of", "sur", "of"),
    (
        "recover_kind_label",
        "Type de numéro personnel",
        "Kind of personal number",
    ),
    (
        "recover_kind_student_number",
        "Numéro d’étudiant (carte multiservice)",
        "Student number (campus card)",
    ),
    (
        "recover_kind_ine",
        "INE (identifiant national étudiant)",
        "INE (national student ID)",
    ),
    (
        "recover_kind_staff_number",
        "Matricule du personnel",
        "Staff number",
    ),
    (
        "recover_kind_external_uid",
        "Identifiant unique (personne extérieure)",
        "Unique ID (external person)",
    ),
    (
        "recover_identifier_label",
        "Numéro personnel",
        "Personal number",
    ),
    (
        "recover_birth_date_label",
        "Date de naissance",
        "Date of birth",
    ),
    ("recover_submit", "Valider", "Continue"),
    (
        "recover_refused",
        "Ces informations ne permettent pas de récupérer un mot de passe ici : vérifiez-les, ou contactez l’assistance.",
        "These details do not allow recovery here: check them, or contact the help desk.",
    ),
    (
        "recover_locked",
        "Trop d’essais : réessayez dans un quart d’heure, ou contactez l’assistance.",
        "Too many attempts: try again in a quarter of an hour, or contact the help desk.",
    ),
    (
        "recover_expired",
        "Cette récupération a expiré ou a déjà servi : recommencez depuis la première étape.",
        "This recovery has expired or was already used: start again from the first step.",
    ),
    (
        "recover_question_intro",
        "Répondez à votre question de sécurité (majuscules, accents et espaces n’ont pas d’importance).",
        "Answer your security question (capitals, accents and spaces do not matter).",
    ),
    ("recover_answer_label", "Votre réponse", "Your answer"),
    (
        "recover_wrong_answer",
        "Ce n’est pas la bonne réponse. Après plusieurs erreurs, le compte est bloqué pour un temps.",
        "That is not the right answer. After several mistakes the account is locked for a while.",
    ),
    (
        "recover_accept_label",
        "Je reconnais avoir pris connaissance du règlement intérieur.",
        "I have read the house rules.",
    ),
    (
        "recover_accept_needed",
        "Cochez la case du règlement intérieur pour continuer.",
        "Tick the house rules box to continue.",
    ),
    (
        "recover_done_title",
        "Votre mot de passe a été modifié",
        "Your password was changed",
    ),
    (
        "recover_done_text",
        "Un e-mail de confirmation vous a été envoyé. Utilisez désormais votre nouveau mot de passe, partout où vous vous connectez, pour le compte",
        "A confirmation e-mail was sent to you. From now on use your new password, everywhere you sign in, for the account",
    ),
    (
        "recover_link",
        "Récupérer mon mot de passe avec mes informations personnelles",
        "Recover my password with my personal details",
    ),
    (
        "question_title",
        "Question de sécurité",
        "Security question",
    ),
    (
        "question_intro",
        "Elle permet de récupérer votre mot de passe sans l’assistance. Choisissez une question dont vous seul connaissez la réponse ; majuscules, accents et espaces de la réponse n’ont pas d’importance.",
        "It lets you recover your password without the help desk. Choose a question only you know the answer to; capitals, accents and spaces in the answer do not matter.",
    ),
    ("question_label", "Question", "Question"),
    ("question_answer_label", "Réponse", "Answer"),
    ("question_submit", "Enregistrer", "Save"),
    ("question_set", "définie", "set"),
    ("question_not_set", "non définie", "not set"),
    ("question_change", "Définir ou changer", "Set or change"),
    (
        "question_invalid",
        "Saisissez une question et une réponse (200 caractères au plus).",
        "Type a question and an answer (at most 200 characters).",
    ),
    (
        "question_saved",
        "Votre question de sécurité est enregistrée.",
        "Your security question is saved.",
    ),
];
