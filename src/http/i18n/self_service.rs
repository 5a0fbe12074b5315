//! Passwords: the rules, the reset, the change, the temporary password. (key, French, English)

/// The password and self-service pages' strings (key, French, English).
pub const SELF_SERVICE_STRINGS: &[(&str, &str, &str)] = &[
    (
        "pw_new_title",
        "Choisissez votre mot de passe",
        "Choose your password",
    ),
    (
        "pw_temporary_intro",
        "Vous vous êtes connecté avec un mot de passe temporaire : choisissez maintenant votre mot de passe personnel.",
        "You signed in with a temporary password: now choose your own password.",
    ),
    ("pw_new_label", "Nouveau mot de passe", "New password"),
    (
        "pw_confirm_label",
        "Nouveau mot de passe, une seconde fois",
        "New password, once more",
    ),
    (
        "pw_new_submit",
        "Enregistrer le mot de passe",
        "Save the password",
    ),
    ("pw_rule_length_1", "Au moins", "At least"),
    (
        "pw_rule_length_2",
        "caractères (une phrase de passe convient très bien : espaces, accents et emoji sont permis).",
        "characters (a passphrase is fine: spaces, accents and emoji are allowed).",
    ),
    (
        "pw_rule_personal",
        "Ni votre identifiant ni votre nom.",
        "Neither your login nor your name.",
    ),
    (
        "pw_rule_history_1",
        "Différent de vos",
        "Different from your last",
    ),
    ("pw_rule_history_2", "derniers mots de passe.", "passwords."),
    (
        "pw_rule_common",
        "Pas un mot de passe courant (« 123456 », « motdepasse »…).",
        "Not a common password (“123456”, “password”…).",
    ),
    (
        "pw_mismatch",
        "Les deux nouveaux mots de passe sont différents : saisissez deux fois le même.",
        "The two new passwords differ: type the same one twice.",
    ),
    (
        "pw_refused",
        "Ce mot de passe ne respecte pas les règles ci-dessous : choisissez-en un autre.",
        "This password breaks the rules below: choose another one.",
    ),
    ("pw_too_short", "Il est trop court.", "It is too short."),
    ("pw_too_long", "Il est trop long.", "It is too long."),
    (
        "pw_contains_login",
        "Il contient votre identifiant.",
        "It contains your login.",
    ),
    (
        "pw_contains_name",
        "Il contient votre nom.",
        "It contains your name.",
    ),
    (
        "pw_banned",
        "C’est un mot de passe trop courant.",
        "It is too common a password.",
    ),
    (
        "pw_reused",
        "Vous l’avez déjà utilisé récemment.",
        "You used it recently.",
    ),
    ("reset_title", "Mot de passe oublié", "Forgotten password"),
    (
        "reset_intro",
        "Saisissez votre identifiant ou votre adresse e-mail : nous enverrons un lien à votre adresse de secours pour choisir un nouveau mot de passe.",
        "Type your login or your e-mail address: we will send a link to your recovery address to choose a new password.",
    ),
    (
        "reset_identifier_label",
        "Identifiant ou adresse e-mail",
        "Login or e-mail address",
    ),
    ("reset_submit", "Recevoir le lien", "Send me the link"),
    (
        "reset_sent",
        "Si ce compte existe et a une adresse de secours, un lien vient d’y être envoyé. Il est valable une heure. Rien reçu ? Vérifiez vos courriers indésirables, ou contactez l’assistance.",
        "If this account exists and has a recovery address, a link was just sent there. It is valid for one hour. Nothing? Check your spam folder, or contact the help desk.",
    ),
    (
        "reset_back_to_login",
        "Retour à la connexion",
        "Back to sign-in",
    ),
    (
        "reset_forgot_login",
        "Identifiant oublié ?",
        "Forgot your login?",
    ),
    (
        "forgot_login_title",
        "Identifiant oublié",
        "Forgotten login",
    ),
    (
        "forgot_login_intro",
        "Saisissez l’adresse e-mail de votre compte : nous vous y enverrons votre identifiant. Sans adresse enregistrée, contactez l’assistance.",
        "Type your account’s e-mail address: we will send your login there. Without a registered address, contact the help desk.",
    ),
    (
        "forgot_login_email_label",
        "Adresse e-mail",
        "E-mail address",
    ),
    (
        "forgot_login_submit",
        "Recevoir mon identifiant",
        "Send me my login",
    ),
    (
        "forgot_login_sent",
        "Si cette adresse est celle d’un compte, votre identifiant vient d’y être envoyé. Rien reçu ? Contactez l’assistance.",
        "If this address is an account’s, your login was just sent there. Nothing? Contact the help desk.",
    ),
    ("reset_new_title", "Nouveau mot de passe", "New password"),
    ("reset_new_for", "Pour le compte", "For the account"),
    (
        "reset_done_title",
        "Mot de passe changé",
        "Password changed",
    ),
    (
        "reset_done_text",
        "Votre mot de passe est changé, vos autres sessions sont fermées. Connectez-vous maintenant avec le nouveau, compte",
        "Your password is changed and your other sessions are closed. Sign in now with the new one, account",
    ),
    (
        "reset_link_invalid",
        "Ce lien n’est plus valable (déjà utilisé, remplacé par un plus récent, ou plus vieux d’une heure). Demandez-en un nouveau depuis « Mot de passe oublié ».",
        "This link is no longer valid (already used, replaced by a newer one, or older than an hour). Ask for a new one from “Forgotten password”.",
    ),
    (
        "self_service_denied",
        "Cette démarche n’est pas ouverte à votre catégorie de compte ici : contactez l’assistance (ci-dessous).",
        "This is not open to your kind of account here: contact the help desk (below).",
    ),
    (
        "change_title",
        "Changer mon mot de passe",
        "Change my password",
    ),
    (
        "change_current_label",
        "Mot de passe actuel",
        "Current password",
    ),
    (
        "change_submit",
        "Changer le mot de passe",
        "Change the password",
    ),
    (
        "change_done",
        "Votre mot de passe est changé ; vos autres sessions sont fermées et un e-mail de confirmation vous a été envoyé.",
        "Your password is changed; your other sessions are closed and a confirmation e-mail was sent to you.",
    ),
];
