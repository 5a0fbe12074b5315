//! Invitations and the first administrator's set-up link. (key, French, English)

pub const INVITATION_STRINGS: &[(&str, &str, &str)] = &[
    ("invitation_title", "Invitation", "Invitation"),
    (
        "invitation_setup_title",
        "Premier administrateur",
        "First administrator",
    ),
    (
        "invitation_setup_intro",
        "Ce lien crée le compte du premier administrateur de ce service d'identité. Après votre première connexion, la console vous demandera d'activer un second facteur.",
        "This link creates the account of this identity service's first administrator. After your first sign-in, the console will ask you to set up a second factor.",
    ),
    (
        "invitation_to",
        "Vous êtes invité(e) à rejoindre",
        "You are invited to join",
    ),
    (
        "invitation_as_admin",
        "en tant qu'administrateur ou administratrice",
        "as an administrator",
    ),
    (
        "invitation_rights",
        "Avec les droits suivants :",
        "With these rights:",
    ),
    (
        "invitation_address",
        "Adresse invitée :",
        "Invited address:",
    ),
    (
        "invitation_has_account",
        "Cette adresse appartient déjà à un compte : connectez-vous avec ce compte pour accepter l'invitation.",
        "This address already belongs to an account: sign in with that account to accept the invitation.",
    ),
    (
        "invitation_sign_in",
        "Se connecter pour accepter",
        "Sign in to accept",
    ),
    (
        "invitation_signed_in_as",
        "Connecté(e) en tant que",
        "Signed in as",
    ),
    (
        "invitation_accept",
        "Accepter l'invitation",
        "Accept the invitation",
    ),
    (
        "invitation_other_account_1",
        "Vous êtes connecté(e) en tant que",
        "You are signed in as",
    ),
    (
        "invitation_other_account_2",
        ", qui n'est pas le compte de l'adresse invitée. Connectez-vous avec le compte de cette adresse pour accepter.",
        ", which is not the account of the invited address. Sign in with that address's account to accept.",
    ),
    (
        "invitation_new_account",
        "Créez votre compte",
        "Create your account",
    ),
    (
        "invitation_email_label",
        "Adresse électronique",
        "E-mail address",
    ),
    ("invitation_given_name_label", "Prénom", "Given name"),
    ("invitation_family_name_label", "Nom", "Family name"),
    ("invitation_login_label", "Identifiant", "Login"),
    (
        "invitation_login_hint",
        "Le nom avec lequel vous vous connecterez : 1 à 64 caractères, sans espace ni « @ ». Il n'a rien de secret : ne choisissez pas votre mot de passe.",
        "The name you will sign in with: 1 to 64 characters, without spaces or “@”. It is not secret: do not use your password.",
    ),
    ("invitation_create", "Créer mon compte", "Create my account"),
    (
        "invitation_login_invalid",
        "Cet identifiant ne convient pas : 1 à 64 caractères, sans espace ni « @ ».",
        "This login will not do: 1 to 64 characters, without spaces or “@”.",
    ),
    (
        "invitation_login_taken",
        "Cet identifiant est déjà pris : choisissez-en un autre.",
        "This login is taken: choose another one.",
    ),
    (
        "invitation_email_invalid",
        "Cette adresse électronique ne convient pas.",
        "This e-mail address will not do.",
    ),
    (
        "invitation_email_taken",
        "Cette adresse appartient déjà à un compte : choisissez-en une autre.",
        "This address already belongs to an account: choose another one.",
    ),
    (
        "invitation_name_invalid",
        "Un nom compte 200 caractères au plus.",
        "A name has at most 200 characters.",
    ),
    (
        "invitation_invalid",
        "Ce lien d'invitation n'est pas valable : il a déjà servi, a été révoqué ou a expiré. Demandez une nouvelle invitation à la personne qui vous a invité(e).",
        "This invitation link is not valid: it was used already, revoked or has expired. Ask the person who invited you for a new invitation.",
    ),
    (
        "invitation_wrong_account",
        "Le compte connecté n'est pas celui de l'adresse invitée : l'invitation n'a pas été acceptée.",
        "The signed-in account is not the invited address's account: the invitation was not accepted.",
    ),
    (
        "invitation_done_title",
        "Invitation acceptée",
        "Invitation accepted",
    ),
    (
        "invitation_created",
        "Votre compte est créé :",
        "Your account is created:",
    ),
    (
        "invitation_second_factor",
        "Connectez-vous maintenant ; depuis la page de votre compte, vous pourrez ajouter un second facteur (application d'authentification ou SMS).",
        "Sign in now; from your account page you can add a second factor (an authenticator app or SMS).",
    ),
    ("invitation_go_sign_in", "Se connecter", "Sign in"),
    (
        "invitation_accepted",
        "Vous avez rejoint",
        "You have joined",
    ),
    ("invitation_go_account", "Mon compte", "My account"),
];
