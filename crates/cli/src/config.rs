//! `--config FIL` (or `STYR_CONFIG`): a TOML file of options, each key named
//! as its flag without the dashes (`nats-url = "nats://…"`,
//! `checkpoint-every = 600`, `registrar = ["kansli"]`). What is said on the
//! command line wins, then the option's environment variable, then the
//! file, then the default. A key no command knows is an error that names
//! it; a key for another command than the one run (`checkpoint-every` for
//! `styr health`) is left for that command, so that `serve` and the
//! operator's other commands share one file.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// The config file named on the command line or in `STYR_CONFIG`.
fn config_path(argv: &[OsString]) -> Option<PathBuf> {
    let mut args = argv.iter().skip(1);
    while let Some(a) = args.next() {
        if a == "--" {
            break;
        }
        if a == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(v) = a.to_str().and_then(|a| a.strip_prefix("--config=")) {
            return Some(PathBuf::from(v));
        }
    }
    std::env::var_os("STYR_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `argv` with the config file's options appended, each where the command
/// line and the environment said nothing of it.
pub(crate) fn args_with_config(
    cmd: &clap::Command,
    argv: Vec<OsString>,
) -> Result<Vec<OsString>, String> {
    let Some(path) = config_path(&argv) else {
        return Ok(argv);
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("kunde inte läsa inställningsfilen {}: {e}", path.display()))?;
    let table: toml::Table = text.parse().map_err(|e| {
        format!(
            "inställningsfilen {} är inte giltig TOML: {e}",
            path.display()
        )
    })?;
    // The command run, and the subcommands chosen under it (`import kolada`).
    let mut chosen: Vec<clap::Command> = vec![cmd.clone()];
    if let Ok(m) = cmd.clone().ignore_errors(true).try_get_matches_from(&argv) {
        let mut m = &m;
        while let Some((name, sub)) = m.subcommand() {
            let Some(c) = chosen.last().and_then(|c| c.find_subcommand(name)).cloned() else {
                break;
            };
            chosen.push(c);
            m = sub;
        }
    }
    let mut appended = Vec::new();
    for (key, value) in &table {
        let find = |c: &clap::Command| {
            c.get_arguments()
                .find(|a| a.get_long() == Some(key.as_str()))
                .cloned()
        };
        let Some(arg) = chosen.iter().rev().find_map(find) else {
            if known_anywhere(cmd, key) {
                continue; // another command's option
            }
            return Err(format!(
                "okänd inställning `{key}` i {}: nycklarna är flaggornas namn utan bindestreck framför (t.ex. nats-url, data-dir, checkpoint-every)",
                path.display()
            ));
        };
        if key == "config" {
            return Err(format!(
                "inställningen `config` i {} kan inte peka ut en annan inställningsfil",
                path.display()
            ));
        }
        let flag = format!("--{key}");
        let short = arg.get_short().map(|c| format!("-{c}"));
        let on_command_line = argv.iter().any(|a| {
            a == OsStr::new(&flag)
                || a.to_str().is_some_and(|a| {
                    a.starts_with(&format!("{flag}="))
                        || short.as_deref().is_some_and(|s| a.starts_with(s))
                })
        });
        let in_environment = arg
            .get_env()
            .and_then(std::env::var_os)
            .is_some_and(|v| !v.is_empty());
        if on_command_line || in_environment {
            continue;
        }
        append(&mut appended, &flag, key, value, &arg, &path)?;
    }
    // Before a `--`, after which everything is a value.
    let mut out = argv.clone();
    let at = out.iter().position(|a| a == "--").unwrap_or(out.len());
    out.splice(at..at, appended);
    Ok(out)
}

/// Whether any command, at any depth, has the option `--key`.
fn known_anywhere(cmd: &clap::Command, key: &str) -> bool {
    cmd.get_arguments().any(|a| a.get_long() == Some(key))
        || cmd.get_subcommands().any(|s| known_anywhere(s, key))
}

fn append(
    out: &mut Vec<OsString>,
    flag: &str,
    key: &str,
    value: &toml::Value,
    arg: &clap::Arg,
    path: &std::path::Path,
) -> Result<(), String> {
    let takes_value = !matches!(
        arg.get_action(),
        clap::ArgAction::SetTrue | clap::ArgAction::SetFalse
    );
    let wrong = |what: &str| format!("inställningen `{key}` i {} ska vara {what}", path.display());
    match value {
        toml::Value::Boolean(b) if !takes_value => {
            if *b {
                out.push(flag.into());
            }
        }
        _ if !takes_value => return Err(wrong("true eller false")),
        toml::Value::Array(items) => {
            for item in items {
                out.push(flag.into());
                out.push(scalar(item).ok_or_else(|| wrong("en lista av texter eller tal"))?);
            }
        }
        v => {
            out.push(flag.into());
            out.push(scalar(v).ok_or_else(|| wrong("en text eller ett tal"))?);
        }
    }
    Ok(())
}

fn scalar(v: &toml::Value) -> Option<OsString> {
    match v {
        toml::Value::String(s) => Some(s.into()),
        toml::Value::Integer(i) => Some(i.to_string().into()),
        toml::Value::Float(f) => Some(f.to_string().into()),
        _ => None,
    }
}
