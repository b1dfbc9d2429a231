//! `styr` speaks Swedish: the help's headings, the help and version flags,
//! and the command-line errors clap would write in English.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, Command};

const TEMPLATE: &str = "\
{before-help}{about-with-newline}
Användning: {usage}

{all-args}{after-help}";

/// The command tree with Swedish headings, a Swedish `-h/--help` and
/// `-V/--version`, no English help subcommand, and the environment
/// variables and defaults said in the help texts themselves.
pub fn command(cmd: Command) -> Command {
    let cmd = localise(cmd).disable_version_flag(true).arg(
        Arg::new("version")
            .short('V')
            .long("version")
            .action(ArgAction::Version)
            .help("Visa versionen")
            .help_heading("Flaggor"),
    );
    cmd.disable_help_subcommand(true)
}

fn localise(cmd: Command) -> Command {
    let cmd = cmd
        .help_template(TEMPLATE)
        .subcommand_help_heading("Kommandon")
        .subcommand_value_name("KOMMANDO")
        .disable_help_flag(true)
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("Visa hjälpen")
                .help_heading("Flaggor"),
        )
        .mut_args(|a| {
            let heading = if a.is_positional() {
                "Argument"
            } else {
                "Flaggor"
            };
            let a = a.help_heading(heading);
            if a.get_action().takes_values() {
                a.hide_env(true)
                    .hide_default_value(true)
                    .hide_possible_values(true)
            } else {
                a
            }
        });
    cmd.mut_subcommands(localise)
}

fn context(e: &clap::Error, kind: ContextKind) -> Option<String> {
    e.get(kind).map(|v| match v {
        ContextValue::String(s) => s.clone(),
        ContextValue::Strings(v) => v.join(", "),
        ContextValue::StyledStr(s) => s.to_string(),
        ContextValue::StyledStrs(v) => v
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        ContextValue::Number(n) => n.to_string(),
        ContextValue::Bool(b) => b.to_string(),
        ContextValue::None => String::new(),
        _ => String::new(),
    })
}

/// The help or version text, with clap's last English placeholder in Swedish.
pub fn help_text(e: &clap::Error) -> String {
    e.render().to_string().replace("[OPTIONS]", "[FLAGGOR]")
}

/// A usage error in Swedish, with what was wrong and where to look.
pub fn usage_error(e: &clap::Error) -> String {
    let arg = context(e, ContextKind::InvalidArg).unwrap_or_default();
    let value = context(e, ContextKind::InvalidValue).unwrap_or_default();
    let valid = context(e, ContextKind::ValidValue)
        .map(|v| format!(" (möjliga värden: {v})"))
        .unwrap_or_default();
    let suggested = context(e, ContextKind::SuggestedSubcommand)
        .or_else(|| context(e, ContextKind::SuggestedArg))
        .map(|s| format!(" (menade du '{}'?)", s.replace(", ", "' eller '")))
        .unwrap_or_default();
    let message = match e.kind() {
        ErrorKind::InvalidSubcommand => format!(
            "okänt kommando '{}'{suggested}",
            context(e, ContextKind::InvalidSubcommand).unwrap_or_default()
        ),
        ErrorKind::UnknownArgument => format!("okänt argument '{arg}'{suggested}"),
        ErrorKind::InvalidValue => {
            if value.is_empty() {
                format!("{arg} behöver ett värde{valid}")
            } else {
                format!("ogiltigt värde '{value}' för {arg}{valid}")
            }
        }
        ErrorKind::ValueValidation => {
            let why = if arg.contains("ÅÅÅÅ-MM-DD") {
                ": ett datum skrivs ÅÅÅÅ-MM-DD".to_owned()
            } else if arg.contains("TIDPUNKT") {
                ": en tidpunkt skrivs enligt RFC 3339, t.ex. 2026-06-01T12:00:00Z".to_owned()
            } else if ["ÅR", "SEKVENS", "ANTAL", "SEKUNDER"]
                .iter()
                .any(|n| arg.contains(&format!("<{n}>")))
            {
                ": ska vara ett heltal".to_owned()
            } else {
                std::error::Error::source(e)
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default()
            };
            format!("ogiltigt värde '{value}' för {arg}{why}")
        }
        ErrorKind::MissingRequiredArgument => format!("argument saknas: {arg}"),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "ett kommando behövs".to_owned()
        }
        ErrorKind::ArgumentConflict => format!(
            "{arg} kan inte användas tillsammans med {}",
            context(e, ContextKind::PriorArg).unwrap_or_default()
        ),
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues => {
            format!("fel antal värden för {arg}")
        }
        ErrorKind::NoEquals => format!("{arg} behöver ett värde efter '='"),
        ErrorKind::InvalidUtf8 => "ett argument är inte giltig UTF-8".to_owned(),
        _ => "felaktig användning".to_owned(),
    };
    format!("fel: {message}\nSe `styr --help`, eller `styr KOMMANDO --help`.")
}
