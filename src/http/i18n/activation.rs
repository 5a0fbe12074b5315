//! The activation of an account. (key, French, English)

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
    (
        "activate_resend",
        "Je n’ai rien reçu : renvoyer le lien",
        "Nothing arrived: send the link again",
    ),
    (
        "activate_resent",
        "Un nouveau lien vient d’être envoyé. Vérifiez aussi vos courriers indésirables.",
        "A new link was just sent. Check your spam folder too.",
    ),
    (
        "activate_resend_too_soon",
        "Un lien a été envoyé il y a moins d’une minute : attendez un peu avant d’en demander un autre.",
        "A link was sent less than a minute ago: wait a little before asking for another.",
    ),
];
