//! `styr users`: the embedded server's users.

use anyhow::{Context, Result};

use crate::context::Ctx;
use crate::*;

pub(crate) async fn users(ctx: &mut Ctx<'_>, action: &UsersAction) -> Result<Exit> {
    let cli = ctx.cli;
    if cli.nats_url.is_some() {
        anyhow::bail!(
            "styr users ändrar den inbyggda serverns användare; en egen server (--nats-url) har sina användare i sin konfiguration (se deploy/nats)"
        );
    }
    let dir = cli.data_dir.join("access");
    std::fs::create_dir_all(&dir).with_context(|| format!("kunde inte skapa {}", dir.display()))?;
    // One change at a time (serve holds styr.lock, so not that one).
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("users.lock"))
        .context("kunde inte öppna användarfilens lås")?;
    lock.lock().context("kunde inte låsa användarfilen")?;
    let mut access = styr_access::Access::load_or_create(&dir)
        .with_context(|| format!("kunde inte läsa {}", dir.display()))?;
    match action {
        UsersAction::List => {
            for u in &access.users {
                outln!("{:<24} {}", u.name, u.role.label())?;
            }
        }
        UsersAction::Add { name, revisor } => {
            // A user name is an identity in every kommun's history:
            // one that has recorded there (the example's loader, the
            // local operator) already holds what was granted to it.
            if [cli.som.as_str(), "lokal-operator", "exempel-laddning"].contains(&name.as_str()) {
                anyhow::bail!(
                    "{name} är en identitet som redan registrerar beslut lokalt (och kan vara administratör); välj ett annat namn för en inloggning"
                );
            }
            let role = if *revisor {
                styr_access::Role::Auditor
            } else {
                styr_access::Role::App
            };
            access.add(&dir, name, role)?;
            outln!(
                "Användaren {name} ({}) är tillagd. Starta om styr serve; därefter finns dess NATS-URL i {}.",
                role.label(),
                cli.data_dir.join("credentials").join(format!("{name}.url")).display()
            )?;
            outln!(
                "Vad {name} får registrera beslutas i kommunens historik: grant_access av KS eller en administratör."
            )?;
        }
    }
    Ok(Exit::Ok)
}
