//! The second factors and the account page. (key, French, English)

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
