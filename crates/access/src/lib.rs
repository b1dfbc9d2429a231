//! Who may do what on the NATS server behind Styrkedja: the permission model
//! as nats-server accounts and users, the credentials handed to people and
//! integrations, and the caller identity the service reads from a request.
//!
//! # The model
//! Two accounts:
//!
//! - **`STYRKEDJA`** holds the kommun streams (JetStream) and every user:
//!   - the *service* identity (`styr-service`): the only one that may publish
//!     to `styr.>` and use the JetStream API for streams (create, update);
//!   - *application* users (a nämnd's secretary, KS's kansli, an integration):
//!     may send requests to `styrkedja.api.<kommun>.submit|query`, discover
//!     the service (`$SRV.>`), and read kommun streams through consumers
//!     (stream info, consumer create/info/next, acks, message get) — nothing
//!     else: no publish to `styr.>`, no stream create/update/delete/purge, no
//!     `$JS.API.>` wholesale; each subscribes only under its own inbox
//!     prefix `_INBOX_<user>` (its client must use it), so no user reads
//!     another's replies;
//!   - *auditor* users (revisorer): as application users, without `submit`.
//! - **`STYRKEDJA_API`** holds one user, the service's request connection
//!   (`styr-api`). It exports `styrkedja.api.>` and `$SRV.>`; `STYRKEDJA`
//!   imports them. A request crossing that import carries the
//!   `Nats-Request-Info` header, which nats-server writes itself (a caller's
//!   own header of that name is replaced): the service reads the caller's
//!   authenticated user name from it, never from the request body.
//!
//! The embedded server writes this configuration itself; `deploy/` carries
//! the same model for operators.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The account holding the kommun streams and every user.
pub const ACCOUNT: &str = "STYRKEDJA";
/// The account the service answers requests in.
pub const API_ACCOUNT: &str = "STYRKEDJA_API";
/// The service's identity for the streams.
pub const SERVICE_USER: &str = "styr-service";
/// The service's identity for answering requests.
pub const API_USER: &str = "styr-api";
/// The header nats-server writes on a request crossing a service import.
pub const REQUEST_INFO_HEADER: &str = "Nats-Request-Info";

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("{path}: {detail}")]
    Io { path: PathBuf, detail: String },
    #[error("användarnamnet {0:?} duger inte: 1–64 tecken a-z, A-Z, 0-9, '-' och '_'")]
    InvalidName(String),
    #[error("användaren {0} finns redan")]
    Exists(String),
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> AccessError {
    AccessError::Io {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// Roll: what a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Styrkedja itself, towards the streams.
    Service,
    /// Styrkedja itself, answering requests.
    Api,
    /// A person or integration that submits decisions and reads.
    App,
    /// A revisor: reads and exports, never submits.
    Auditor,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Service => "tjänsten (strömmarna)",
            Role::Api => "tjänsten (förfrågningar)",
            Role::App => "användare/integration",
            Role::Auditor => "revisor",
        }
    }
}

/// One NATS user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub password: String,
}

/// Checks a user name: it becomes part of the audit trail and of subjects.
pub fn check_name(name: &str) -> Result<(), AccessError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(AccessError::InvalidName(name.to_owned()))
    }
}

fn password() -> Result<String, AccessError> {
    let mut bytes = [0u8; 24];
    getrandom::getrandom(&mut bytes).map_err(|e| io_error(Path::new("getrandom"), e))?;
    Ok(hex::encode(bytes))
}

/// The users of one server, kept in `<dir>/users.json` (mode 0600).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    pub users: Vec<User>,
}

/// Writes a file readable by its owner only, from its first byte; an
/// existing file is replaced (written beside it, then renamed).
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), AccessError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(|e| io_error(&tmp, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

impl Access {
    fn file(dir: &Path) -> PathBuf {
        dir.join("users.json")
    }

    /// Reads the users, creating the file with the service's two users, an
    /// application user `app` and an auditor `revisor` the first time.
    pub fn load_or_create(dir: &Path) -> Result<Self, AccessError> {
        let file = Self::file(dir);
        match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| io_error(&file, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut access = Access { users: Vec::new() };
                for (name, role) in [
                    (SERVICE_USER, Role::Service),
                    (API_USER, Role::Api),
                    ("app", Role::App),
                    ("revisor", Role::Auditor),
                ] {
                    access.users.push(User {
                        name: name.to_owned(),
                        role,
                        password: password()?,
                    });
                }
                access.save(dir)?;
                Ok(access)
            }
            Err(e) => Err(io_error(&file, e)),
        }
    }

    pub fn save(&self, dir: &Path) -> Result<(), AccessError> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| io_error(dir, e))?;
        write_private(&Self::file(dir), &bytes)
    }

    /// Adds a user with a fresh password (saved at once).
    pub fn add(&mut self, dir: &Path, name: &str, role: Role) -> Result<User, AccessError> {
        check_name(name)?;
        if self.users.iter().any(|u| u.name == name) {
            return Err(AccessError::Exists(name.to_owned()));
        }
        let user = User {
            name: name.to_owned(),
            role,
            password: password()?,
        };
        self.users.push(user.clone());
        self.save(dir)?;
        Ok(user)
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The first user with this role.
    pub fn with_role(&self, role: Role) -> Option<&User> {
        self.users.iter().find(|u| u.role == role)
    }

    /// The `accounts { … }` block of the nats-server configuration, with
    /// the users' passwords written in (the embedded server's own file).
    pub fn server_config(&self) -> String {
        self.config_with(|u| quote(&u.password))
    }

    /// The same block with every password an environment variable
    /// reference, `$STYR_PASSWORD_<USER>` (nats-server resolves it at start),
    /// for configuration files that are shared or committed (`deploy/`).
    pub fn server_config_from_env(&self) -> String {
        self.config_with(|u| format!("${}", password_variable(&u.name)))
    }

    fn config_with(&self, password: impl Fn(&User) -> String) -> String {
        let users = |pred: &dyn Fn(Role) -> bool| {
            self.users
                .iter()
                .filter(|u| pred(u.role))
                .map(|u| {
                    format!(
                        "      {{user: {}, password: {}, permissions: {}}}\n",
                        quote(&u.name),
                        password(u),
                        permissions(u.role, &u.name)
                    )
                })
                .collect::<String>()
        };
        format!(
            "accounts {{\n  {ACCOUNT} {{\n    jetstream: enabled\n    users: [\n{}    ]\n    imports: [\n      {{service: {{account: {API_ACCOUNT}, subject: \"styrkedja.api.>\"}}, share: true}}\n      {{service: {{account: {API_ACCOUNT}, subject: \"$SRV.>\"}}}}\n    ]\n  }}\n  {API_ACCOUNT} {{\n    users: [\n{}    ]\n    exports: [\n      {{service: \"styrkedja.api.>\"}}\n      {{service: \"$SRV.>\", response_type: stream}}\n    ]\n  }}\n}}\n",
            users(&|r| r != Role::Api),
            users(&|r| r == Role::Api),
        )
    }

    /// Writes `<dir>/<user>.url` (0600) for every user: the NATS URL with
    /// the user's name and password, for clients and `NATS_URL`.
    pub fn write_credentials(&self, dir: &Path, host: &str, port: u16) -> Result<(), AccessError> {
        for u in &self.users {
            write_private(
                &dir.join(format!("{}.url", u.name)),
                format!("{}\n", u.url(host, port)).as_bytes(),
            )?;
        }
        Ok(())
    }
}

/// The environment variable a shared configuration reads `user`'s
/// password from: `STYR_PASSWORD_` and the name in capitals, `-` as `_`.
pub fn password_variable(user: &str) -> String {
    format!(
        "STYR_PASSWORD_{}",
        user.to_ascii_uppercase().replace('-', "_")
    )
}

/// The users every deployment has (their passwords from the environment).
pub fn deployment_users() -> Access {
    let user = |name: &str, role| User {
        name: name.to_owned(),
        role,
        password: String::new(),
    };
    Access {
        users: vec![
            user(SERVICE_USER, Role::Service),
            user(API_USER, Role::Api),
            user("app", Role::App),
            user("revisor", Role::Auditor),
        ],
    }
}

impl User {
    /// `nats://name:password@host:port`.
    pub fn url(&self, host: &str, port: u16) -> String {
        format!("nats://{}:{}@{host}:{port}", self.name, self.password)
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Subjects an application or auditor user may publish to for reading
/// kommun streams: stream info, consumers, acks and single-message reads.
/// (A NATS wildcard is a whole token, so these cover every stream of the
/// account; the account holds nothing but kommun streams.)
const READ_SUBJECTS: &[&str] = &[
    "$SRV.>",
    "styrkedja.api.*.query",
    "$JS.API.INFO",
    "$JS.API.STREAM.NAMES",
    "$JS.API.STREAM.LIST",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.STREAM.MSG.GET.*",
    "$JS.API.DIRECT.GET.*",
    "$JS.API.DIRECT.GET.*.>",
    "$JS.API.CONSUMER.CREATE.*",
    "$JS.API.CONSUMER.CREATE.*.>",
    "$JS.API.CONSUMER.DURABLE.CREATE.*.*",
    "$JS.API.CONSUMER.INFO.*.*",
    "$JS.API.CONSUMER.NAMES.*",
    "$JS.API.CONSUMER.LIST.*",
    "$JS.API.CONSUMER.MSG.NEXT.*.*",
    "$JS.ACK.*.>",
    "$JS.FC.*.>",
];

/// The inbox prefix a user's client must use (`_INBOX_<user>`): a user may
/// subscribe to its own replies and nobody else's.
pub fn inbox_prefix(user: &str) -> String {
    format!("_INBOX_{user}")
}

fn permissions(role: Role, name: &str) -> String {
    let list = |subjects: &[&str]| {
        let items: Vec<String> = subjects.iter().map(|s| quote(s)).collect();
        format!("[{}]", items.join(", "))
    };
    match role {
        Role::Service | Role::Api => {
            "{publish: {allow: [\">\"]}, subscribe: {allow: [\">\"]}}".to_owned()
        }
        Role::App | Role::Auditor => {
            let mut publish: Vec<&str> = READ_SUBJECTS.to_vec();
            if role == Role::App {
                publish.push("styrkedja.api.*.submit");
            }
            format!(
                "{{publish: {{allow: {}, deny: [\"styr.>\", \"$JS.API.STREAM.CREATE.>\", \"$JS.API.STREAM.UPDATE.>\", \"$JS.API.STREAM.DELETE.>\", \"$JS.API.STREAM.PURGE.>\"]}}, subscribe: {{allow: [{}]}}}}",
                list(&publish),
                quote(&format!("{}.>", inbox_prefix(name)))
            )
        }
    }
}

/// Who sent a request, as nats-server wrote it in `Nats-Request-Info`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RequestInfo {
    #[serde(rename = "acc")]
    pub account: String,
    #[serde(default)]
    pub user: Option<String>,
}

/// The caller's authenticated user name from the `Nats-Request-Info` header
/// of a request that crossed the import into the service's account, or why
/// there is none.
pub fn caller(header: Option<&str>) -> Result<String, String> {
    let header = header.ok_or_else(|| {
        "förfrågan saknar Nats-Request-Info: den kom inte via tjänstens import, så avsändaren är okänd"
            .to_owned()
    })?;
    let info: RequestInfo = serde_json::from_str(header)
        .map_err(|e| format!("Nats-Request-Info går inte att läsa: {e}"))?;
    if info.account != ACCOUNT {
        return Err(format!(
            "förfrågan kom från kontot {}, inte {ACCOUNT}",
            info.account
        ));
    }
    let user = info
        .user
        .filter(|u| !u.is_empty())
        .ok_or("förfrågan saknar autentiserad användare")?;
    check_name(&user).map_err(|e| e.to_string())?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_created_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let a = Access::load_or_create(dir.path()).unwrap();
        assert_eq!(a.users.len(), 4);
        assert_eq!(Access::load_or_create(dir.path()).unwrap(), a);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("users.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let config = a.server_config();
        assert!(config.contains("share: true"));
        assert!(!config.contains("\"$JS.API.>\""));
    }

    /// `deploy/nats/accounts.conf` is this crate's model, written out; a
    /// change here must be a change there (`STYR_UPDATE_DEPLOY=1` rewrites
    /// it, and the test still fails once so that the change is seen).
    #[test]
    fn the_deploy_configuration_is_the_model() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nats/accounts.conf");
        let want = format!(
            "# The Styrkedja permission model (generated from crates/access; do not edit).\n\
             # Passwords come from the environment: {}.\n{}",
            deployment_users()
                .users
                .iter()
                .map(|u| format!("${}", password_variable(&u.name)))
                .collect::<Vec<_>>()
                .join(", "),
            deployment_users().server_config_from_env()
        );
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            if std::env::var_os("STYR_UPDATE_DEPLOY").is_some() {
                std::fs::write(&path, &want).unwrap();
            }
            panic!(
                "{} differs from the model; update with STYR_UPDATE_DEPLOY=1",
                path.display()
            );
        }
    }

    #[test]
    fn the_caller_comes_from_the_server_written_header_only() {
        assert_eq!(
            caller(Some(
                r#"{"acc":"STYRKEDJA","user":"bun-sekreterare","lang":"rust"}"#
            )),
            Ok("bun-sekreterare".to_owned())
        );
        assert!(caller(None).is_err());
        assert!(caller(Some(r#"{"acc":"OTHER","user":"x"}"#)).is_err());
        assert!(caller(Some(r#"{"acc":"STYRKEDJA"}"#)).is_err());
        assert!(caller(Some("not json")).is_err());
    }
}
