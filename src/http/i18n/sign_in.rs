//! The sign-in, consent, logout and error pages. (key, French, English)

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
    (
        "err_cas_service",
        "Cette application n’est pas autorisée à utiliser ce service de connexion. Prévenez le support informatique.",
        "This application is not allowed to use this sign-in service. Please tell the IT help desk.",
    ),
    (
        "cas_warn_title",
        "Poursuivre vers l’application ?",
        "Go on to the application?",
    ),
    (
        "cas_warn_text",
        "Vous êtes déjà connecté. En continuant, vous serez connecté à",
        "You are already signed in. If you go on, you will be signed in to",
    ),
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
    (
        "scope_establishments",
        "vos établissements et vos droits",
        "your establishments and rights",
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
