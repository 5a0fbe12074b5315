//! French and English strings for the pages. The language is chosen from `ui_locales`, then
//! `Accept-Language`, then French (the institutions guichet serves are francophone first).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    Fr,
    En,
}

impl Locale {
    pub fn tag(self) -> &'static str {
        match self {
            Locale::Fr => "fr",
            Locale::En => "en",
        }
    }

    fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.split(['-', '_']).next().unwrap_or("").trim();
        if primary.eq_ignore_ascii_case("fr") {
            Some(Locale::Fr)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Locale::En)
        } else {
            None
        }
    }

    /// `ui_locales` (space-separated, preferred first), then `Accept-Language` (by q-value).
    pub fn negotiate(ui_locales: Option<&str>, accept_language: Option<&str>) -> Locale {
        if let Some(l) = ui_locales
            .into_iter()
            .flat_map(|s| s.split(' '))
            .find_map(Locale::from_tag)
        {
            return l;
        }
        if let Some(header) = accept_language {
            let mut best: Option<(f32, Locale)> = None;
            for part in header.split(',') {
                let mut pieces = part.split(';');
                let tag = pieces.next().unwrap_or("").trim();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                if let Some(l) = Locale::from_tag(tag)
                    && q > 0.0
                    && best.is_none_or(|(bq, _)| q > bq)
                {
                    best = Some((q, l));
                }
            }
            if let Some((_, l)) = best {
                return l;
            }
        }
        Locale::Fr
    }
}

/// (key, French, English)
pub const STRINGS: &[(&str, &str, &str)] = &[
    ("login_title", "Connexion", "Sign in"),
    ("login_to", "pour continuer vers", "to continue to"),
    (
        "username_label",
        "Identifiant, adresse e-mail ou numéro d’étudiant / de personnel",
        "Login, e-mail address or student / staff number",
    ),
    ("password_label", "Mot de passe", "Password"),
    ("login_submit", "Se connecter", "Sign in"),
    (
        "login_failed",
        "Identifiant ou mot de passe incorrect.",
        "Incorrect login or password.",
    ),
    (
        "login_wrong_account",
        "L’application demande un autre compte que celui-ci. Connectez-vous avec le compte qu’elle attend.",
        "The application asks for another account than this one. Sign in with the account it expects.",
    ),
    ("signed_in_title", "Vous êtes connecté", "You are signed in"),
    ("signed_in_as", "Connecté en tant que", "Signed in as"),
    ("logout_submit", "Se déconnecter", "Sign out"),
    ("consent_title", "Autoriser l’accès", "Allow access"),
    (
        "consent_intro",
        "L’application suivante demande à accéder à vos informations :",
        "The following application asks to access your information:",
    ),
    ("consent_approve", "Autoriser", "Allow"),
    ("consent_deny", "Refuser", "Deny"),
    (
        "consent_remember",
        "Votre choix sera mémorisé ; vous pourrez le retirer plus tard.",
        "Your choice will be remembered; you can withdraw it later.",
    ),
    (
        "scope_openid",
        "votre identifiant unique",
        "your unique identifier",
    ),
    (
        "scope_profile",
        "votre nom et votre profil",
        "your name and profile",
    ),
    ("scope_email", "votre adresse e-mail", "your e-mail address"),
    (
        "scope_phone",
        "votre numéro de téléphone",
        "your phone number",
    ),
    (
        "scope_address",
        "votre adresse postale",
        "your postal address",
    ),
    (
        "scope_offline_access",
        "un accès durable, même après votre déconnexion",
        "lasting access, even after you sign out",
    ),
    ("scope_other", "l’autorisation", "the permission"),
    ("logout_title", "Déconnexion", "Sign out"),
    (
        "logout_question",
        "Voulez-vous vous déconnecter ?",
        "Do you want to sign out?",
    ),
    (
        "logged_out_title",
        "Vous êtes déconnecté",
        "You are signed out",
    ),
    (
        "logged_out_text",
        "Vous êtes déconnecté. Pour terminer, fermez votre navigateur.",
        "You are signed out. To finish, close your browser.",
    ),
    ("form_post_title", "Redirection", "Redirecting"),
    (
        "form_post_text",
        "Javascript est désactivé : cliquez sur Continuer.",
        "JavaScript is disabled: press Continue.",
    ),
    ("continue", "Continuer", "Continue"),
    ("error_title", "Erreur", "Error"),
    ("error_reference", "Référence", "Reference"),
    (
        "err_missing_client_id",
        "La demande ne précise pas d’application (client_id manquant).",
        "The request names no application (client_id is missing).",
    ),
    (
        "err_unknown_client",
        "Cette application n’est pas enregistrée auprès du service d’authentification.",
        "This application is not registered with the sign-in service.",
    ),
    (
        "err_duplicate_parameter",
        "La demande contient un paramètre en double.",
        "The request repeats a parameter.",
    ),
    (
        "err_missing_redirect_uri",
        "La demande ne précise pas d’adresse de retour (redirect_uri manquant).",
        "The request names no return address (redirect_uri is missing).",
    ),
    (
        "err_bad_redirect_uri",
        "L’adresse de retour demandée n’est pas enregistrée pour cette application.",
        "The requested return address is not registered for this application.",
    ),
    (
        "err_csrf",
        "Le formulaire a expiré ou ne vient pas de ce site. Recommencez depuis l’application.",
        "The form expired or did not come from this site. Start again from the application.",
    ),
    (
        "err_bad_request",
        "La demande est invalide.",
        "The request is invalid.",
    ),
    (
        "err_not_found",
        "Cette page n’existe pas.",
        "This page does not exist.",
    ),
    (
        "err_throttled",
        "Trop de tentatives de connexion. Réessayez dans quelques minutes.",
        "Too many sign-in attempts. Try again in a few minutes.",
    ),
    (
        "err_busy",
        "Le service est très sollicité. Réessayez dans quelques secondes.",
        "The service is very busy. Try again in a few seconds.",
    ),
    (
        "err_unavailable",
        "Le service est temporairement indisponible. Aucune connexion n’est possible pour le moment : réessayez dans quelques minutes.",
        "The service is temporarily unavailable. Nobody can sign in at the moment: try again in a few minutes.",
    ),
    (
        "err_internal",
        "Une erreur interne est survenue.",
        "An internal error occurred.",
    ),
    (
        "err_session_lost",
        "Votre session a expiré. Recommencez depuis l’application.",
        "Your session expired. Start again from the application.",
    ),
    (
        "err_consent_expired",
        "Cette page d’autorisation n’est plus valable. Recommencez depuis l’application.",
        "This authorisation page is no longer valid. Start again from the application.",
    ),
    (
        "err_signin_expired",
        "Votre connexion a pris trop de temps. Recommencez depuis l’application.",
        "Your sign-in took too long. Start again from the application.",
    ),
    (
        "err_logout_uri",
        "L’adresse de retour après déconnexion n’est pas enregistrée ; vous restez sur cette page.",
        "The post-logout return address is not registered; you stay on this page.",
    ),
];

/// The second factors' and the account page's strings (key, French, English).
pub const ACCOUNT_STRINGS: &[(&str, &str, &str)] = &[
    (
        "login_locked",
        "Trop d’échecs : ce compte est temporairement bloqué. Réessayez dans un quart d’heure, ou réinitialisez votre mot de passe (« Mot de passe oublié ») pour le débloquer tout de suite. Sinon, contactez l’assistance.",
        "Too many failed attempts: this account is temporarily locked. Try again in a quarter of an hour, or reset your password (“Forgot your password”) to unlock it at once. Otherwise, contact the help desk.",
    ),
    (
        "mfa_title",
        "Vérification en deux étapes",
        "Two-step verification",
    ),
    (
        "mfa_code_totp",
        "Code à 6 chiffres de votre application d’authentification",
        "6-digit code from your authenticator app",
    ),
    (
        "mfa_code_sms",
        "Code à 6 chiffres reçu par SMS",
        "6-digit code received by text message",
    ),
    ("mfa_code_recovery", "Code de secours", "Recovery code"),
    (
        "mfa_recovery_hint",
        "Sans votre téléphone ? Saisissez l’un de vos codes de secours.",
        "No phone at hand? Type one of your recovery codes.",
    ),
    ("mfa_submit", "Vérifier", "Verify"),
    (
        "mfa_sms_send",
        "Recevoir un code par SMS au",
        "Send a code by text message to",
    ),
    (
        "mfa_sms_resend",
        "Renvoyer un code au",
        "Send a new code to",
    ),
    (
        "mfa_sms_sent",
        "Un code vous a été envoyé par SMS au",
        "A code was sent by text message to",
    ),
    (
        "mfa_code_wrong",
        "Code incorrect ou déjà utilisé. Vérifiez l’heure de votre téléphone, ou attendez le code suivant.",
        "Wrong or already used code. Check your phone’s clock, or wait for the next code.",
    ),
    (
        "mfa_sms_too_soon",
        "Un code a été envoyé il y a moins d’une minute. Attendez un peu avant d’en demander un autre.",
        "A code was sent less than a minute ago. Wait a little before asking for another.",
    ),
    (
        "mfa_enrol_required",
        "Cette application exige une vérification en deux étapes. Configurez une application d’authentification pour continuer.",
        "This application requires two-step verification. Set up an authenticator app to continue.",
    ),
    (
        "mfa_enrol_wrong",
        "Ce code ne correspond pas. Vérifiez que vous avez scanné le bon QR code et que l’heure de votre téléphone est juste.",
        "This code does not match. Check that you scanned the right QR code and that your phone’s clock is right.",
    ),
    (
        "mfa_enrol_expired",
        "Cette page a expiré : scannez ce nouveau QR code.",
        "This page expired: scan this new QR code.",
    ),
    (
        "mfa_sms_enrol_wrong",
        "Code incorrect ou expiré. Saisissez à nouveau votre numéro pour recevoir un nouveau code.",
        "Wrong or expired code. Type your number again to receive a new code.",
    ),
    (
        "mfa_bad_phone",
        "Ce numéro n’est pas valable. Saisissez-le au format international (+33 6 12 34 56 78) ou français (06 12 34 56 78).",
        "This number is not valid. Type it in international (+33 6 12 34 56 78) or French (06 12 34 56 78) form.",
    ),
    (
        "mfa_enrolled",
        "La vérification en deux étapes est activée. Voici vos codes de secours.",
        "Two-step verification is on. Here are your recovery codes.",
    ),
    (
        "totp_title",
        "Configurer une application d’authentification",
        "Set up an authenticator app",
    ),
    (
        "totp_step_install",
        "Installez une application d’authentification (FreeOTP, Aegis, Google Authenticator, Microsoft Authenticator…).",
        "Install an authenticator app (FreeOTP, Aegis, Google Authenticator, Microsoft Authenticator…).",
    ),
    (
        "totp_step_scan",
        "Scannez ce QR code avec l’application.",
        "Scan this QR code with the app.",
    ),
    ("totp_qr_label", "QR code à scanner", "QR code to scan"),
    (
        "totp_manual",
        "Ou saisissez cette clé à la main :",
        "Or type this key by hand:",
    ),
    (
        "totp_open_app",
        "Ouvrir dans l’application de ce téléphone",
        "Open in this phone’s app",
    ),
    (
        "totp_step_code",
        "Saisissez le code à 6 chiffres qu’elle affiche.",
        "Type the 6-digit code it shows.",
    ),
    ("totp_confirm", "Activer", "Turn on"),
    (
        "sms_title",
        "Recevoir les codes par SMS",
        "Receive codes by text message",
    ),
    (
        "sms_phone_label",
        "Numéro de téléphone mobile",
        "Mobile phone number",
    ),
    (
        "sms_phone_hint",
        "Par exemple 06 12 34 56 78 ou +33 6 12 34 56 78. Un code vous sera envoyé pour le vérifier.",
        "For example 06 12 34 56 78 or +33 6 12 34 56 78. A code will be sent to check it.",
    ),
    ("sms_send_code", "Envoyer le code", "Send the code"),
    ("recovery_title", "Codes de secours", "Recovery codes"),
    (
        "recovery_intro",
        "Chaque code permet une seule connexion si vous n’avez pas votre téléphone. Notez-les ou imprimez-les, et gardez-les en lieu sûr.",
        "Each code signs you in once when you do not have your phone. Write them down or print them, and keep them safe.",
    ),
    (
        "recovery_once",
        "Ces codes ne seront plus affichés.",
        "These codes will not be shown again.",
    ),
    (
        "recovery_saved",
        "J’ai noté mes codes, continuer",
        "I have saved my codes, continue",
    ),
    (
        "recovery_left",
        "Codes de secours restants :",
        "Recovery codes left:",
    ),
    ("recovery_created", "créés le", "created on"),
    (
        "recovery_regenerate",
        "Générer de nouveaux codes (les anciens ne marcheront plus)",
        "Generate new codes (the old ones will stop working)",
    ),
    (
        "recovery_regenerated",
        "Voici vos nouveaux codes de secours ; les anciens ne fonctionnent plus.",
        "Here are your new recovery codes; the old ones no longer work.",
    ),
    ("account_title", "Mon compte", "My account"),
    ("account_login", "Identifiant", "Login"),
    ("account_name", "Nom", "Name"),
    ("account_email", "Adresse e-mail", "E-mail address"),
    (
        "account_identifiers",
        "Autres identifiants",
        "Other identifiers",
    ),
    (
        "account_mfa",
        "Vérification en deux étapes",
        "Two-step verification",
    ),
    (
        "account_no_mfa",
        "Aucune méthode n’est configurée : votre mot de passe seul protège votre compte.",
        "No method is set up: your password alone protects your account.",
    ),
    (
        "account_add_totp",
        "Configurer une application d’authentification",
        "Set up an authenticator app",
    ),
    (
        "account_add_sms",
        "Ajouter un numéro de téléphone",
        "Add a phone number",
    ),
    (
        "account_password_again",
        "Mot de passe actuel, pour confirmer",
        "Current password, to confirm",
    ),
    (
        "account_wrong_password",
        "Mot de passe incorrect : rien n’a été modifié.",
        "Wrong password: nothing was changed.",
    ),
    ("account_recent", "Connexions récentes", "Recent sign-ins"),
    ("account_when", "Date", "When"),
    ("account_from", "Adresse IP", "IP address"),
    ("account_app", "Application", "Application"),
    ("account_this_page", "ce portail", "this portal"),
    ("account_back", "Retour à mon compte", "Back to my account"),
    (
        "factor_totp",
        "Application d’authentification",
        "Authenticator app",
    ),
    ("factor_sms", "SMS au", "Text message to"),
    ("factor_since", "depuis le", "since"),
    (
        "factor_last_used",
        "dernière utilisation le",
        "last used on",
    ),
    ("factor_remove", "Retirer", "Remove"),
    ("account_link", "Gérer mon compte", "Manage my account"),
];

/// The strings around the institution's theme: the login page's self-service links, the
/// help-desk contact, the footer.
pub const THEME_STRINGS: &[(&str, &str, &str)] = &[
    (
        "login_forgot_password",
        "Mot de passe oublié ?",
        "Forgot your password?",
    ),
    (
        "login_activate",
        "Première connexion ? Activez votre compte",
        "First sign-in? Activate your account",
    ),
    ("theme_help", "Besoin d’aide ?", "Need help?"),
    ("theme_links", "Liens utiles", "Useful links"),
];

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

/// The account activation (`/activate`): its eight steps and their messages.
pub const ACTIVATION_STRINGS: &[(&str, &str, &str)] = &[
    (
        "activate_title",
        "Activer mon compte",
        "Activate my account",
    ),
    ("activate_step", "Étape", "Step"),
    ("activate_of", "sur", "of"),
    ("activate_next", "Suivant", "Next"),
    (
        "activate_restart",
        "Ce n’est pas mon identifiant : recommencer",
        "Not my login: start again",
    ),
    (
        "activate_identifier_title",
        "Votre identifiant",
        "Your login",
    ),
    (
        "activate_identifier_intro",
        "Saisissez l’identifiant que vous a remis votre établissement avec votre mot de passe provisoire, puis cliquez sur « Suivant ».",
        "Type the login your institution gave you with your temporary password, then click “Next”.",
    ),
    ("activate_identifier_label", "Identifiant", "Login"),
    (
        "activate_password_title",
        "Votre mot de passe provisoire",
        "Your temporary password",
    ),
    (
        "activate_password_intro",
        "Saisissez le mot de passe provisoire remis avec votre identifiant :",
        "Type the temporary password given with your login:",
    ),
    (
        "activate_password_label",
        "Mot de passe provisoire",
        "Temporary password",
    ),
    (
        "activate_failed",
        "Identifiant ou mot de passe provisoire incorrect, ou compte déjà activé. Vérifiez-les et recommencez ; si votre compte est déjà activé, connectez-vous ou utilisez « Mot de passe oublié ».",
        "Incorrect login or temporary password, or an account already activated. Check them and try again; if your account is already active, sign in or use “Forgotten password”.",
    ),
    (
        "activate_backup_title",
        "Votre adresse e-mail de secours",
        "Your backup e-mail address",
    ),
    (
        "activate_backup_intro",
        "Saisissez une adresse e-mail personnelle : elle servira à retrouver l’accès à votre compte si vous perdez votre mot de passe. Un lien va y être envoyé pour poursuivre l’activation.",
        "Type a personal e-mail address: it will let you get back into your account if you lose your password. A link will be sent there to continue the activation.",
    ),
    (
        "activate_backup_label",
        "Adresse e-mail de secours",
        "Backup e-mail address",
    ),
    (
        "activate_bad_address",
        "Cette adresse e-mail n’est pas valide. Saisissez une adresse complète, par exemple prenom.nom@exemple.fr.",
        "This e-mail address is not valid. Type a whole address, e.g. first.last@example.org.",
    ),
    (
        "activate_mailed_title",
        "Consultez votre messagerie",
        "Check your mailbox",
    ),
    (
        "activate_redirect_mailed_title",
        "Confirmez l’adresse de redirection",
        "Confirm the redirection address",
    ),
    (
        "activate_mailed_1",
        "Un e-mail contenant un lien vient d’être envoyé à",
        "An e-mail with a link was just sent to",
    ),
    (
        "activate_mailed_2",
        "Ouvrez-le et cliquez sur le lien pour poursuivre l’activation (vous pouvez fermer cette page).",
        "Open it and click the link to continue the activation (you may close this page).",
    ),
    (
        "activate_valid_until",
        "Le lien est valable jusqu’au",
        "The link is valid until",
    ),
    (
        "activate_valid_until_after",
        "Passé ce délai, il faudra reprendre l’activation à l’étape 1.",
        "After that, the activation starts again at step 1.",
    ),
    (
        "activate_expired",
        "Cette activation n’est plus valable (le lien a déjà servi, ou il a expiré à 23 h 59). Reprenez l’activation depuis le début.",
        "This activation is no longer valid (the link was already used, or it expired at 23:59). Start the activation again from the beginning.",
    ),
    (
        "activate_out_of_order",
        "Cette étape de l’activation n’est pas celle attendue (page ancienne, ou envoyée deux fois). Reprenez depuis la dernière page reçue, ou recommencez depuis « Activer mon compte ».",
        "This is not the activation step expected (an old page, or one sent twice). Continue from the last page you received, or start again from “Activate my account”.",
    ),
    (
        "activate_charter_title",
        "La charte informatique",
        "The IT charter",
    ),
    (
        "activate_charter_accept",
        "J’ai lu la charte informatique et je l’accepte.",
        "I have read the IT charter and I accept it.",
    ),
    (
        "activate_accept_required",
        "Pour activer votre compte, cochez la case qui accepte la charte, puis cliquez sur « Suivant ».",
        "To activate your account, tick the box that accepts the charter, then click “Next”.",
    ),
    (
        "activate_redirect_title",
        "Redirection de votre messagerie (facultatif)",
        "Redirecting your mail (optional)",
    ),
    (
        "activate_redirect_intro",
        "Vous pouvez faire suivre le courrier de votre compte vers une autre adresse. Laissez le champ vide pour ne rien rediriger.",
        "You may have your account’s mail forwarded to another address. Leave the field empty to redirect nothing.",
    ),
    (
        "activate_redirect_label",
        "Adresse de redirection",
        "Redirection address",
    ),
    (
        "activate_redirect_hint",
        "Si elle diffère de votre adresse de secours, un lien de confirmation y sera envoyé.",
        "If it differs from your backup address, a confirmation link will be sent there.",
    ),
    (
        "activate_new_password_title",
        "Votre nouveau mot de passe",
        "Your new password",
    ),
    (
        "activate_finish",
        "Activer mon compte",
        "Activate my account",
    ),
    (
        "activate_done_title",
        "Votre compte est activé",
        "Your account is active",
    ),
    (
        "activate_done_text",
        "C’est fait : connectez-vous désormais avec votre identifiant et le mot de passe que vous venez de choisir. Notez ces informations :",
        "Done: from now on sign in with your login and the password you just chose. Note this down:",
    ),
    ("activate_done_login", "Identifiant de connexion", "Login"),
    (
        "activate_done_email",
        "Adresse e-mail du compte",
        "The account’s e-mail address",
    ),
    (
        "activate_done_backup",
        "Adresse e-mail de secours",
        "Backup e-mail address",
    ),
    (
        "activate_done_redirect",
        "Messagerie redirigée vers",
        "Mail redirected to",
    ),
    ("activate_done_sign_in", "Se connecter", "Sign in"),
    (
        "activate_denied",
        "Les comptes de votre catégorie ne s’activent pas en ligne : adressez-vous à l’assistance informatique, qui l’activera avec vous.",
        "Accounts of your category are not activated online: contact the IT help desk, who will activate it with you.",
    ),
];

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

/// Every string of every table.
fn every_string() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    STRINGS
        .iter()
        .chain(ACCOUNT_STRINGS)
        .chain(THEME_STRINGS)
        .chain(SELF_SERVICE_STRINGS)
        .chain(ACTIVATION_STRINGS)
        .chain(RECOVERY_STRINGS)
}

/// A string of the tables by key, if there is one (a label for a name that may have none).
pub fn lookup(locale: Locale, key: &str) -> Option<&'static str> {
    every_string()
        .find(|(k, _, _)| *k == key)
        .map(|(_, fr, en)| match locale {
            Locale::Fr => *fr,
            Locale::En => *en,
        })
}

pub fn table(locale: Locale) -> tera::Value {
    let mut map = tera::Map::new();
    for (key, fr, en) in every_string() {
        let s = match locale {
            Locale::Fr => fr,
            Locale::En => en,
        };
        map.insert((*key).to_owned(), tera::Value::String((*s).to_owned()));
    }
    tera::Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_in_one_table_once() {
        let mut seen = std::collections::HashSet::new();
        for (key, fr, en) in every_string() {
            assert!(seen.insert(*key), "{key} is defined twice");
            assert!(!fr.is_empty() && !en.is_empty(), "{key} lacks a language");
        }
    }

    #[test]
    fn ui_locales_win_then_accept_language_then_french() {
        assert_eq!(Locale::negotiate(Some("se en-GB"), Some("fr")), Locale::En);
        assert_eq!(
            Locale::negotiate(Some("se"), Some("de, en;q=0.5, fr;q=0.8")),
            Locale::Fr
        );
        assert_eq!(Locale::negotiate(None, Some("en-US,en;q=0.9")), Locale::En);
        assert_eq!(Locale::negotiate(None, None), Locale::Fr);
    }
}
