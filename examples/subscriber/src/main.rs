//! `cargo run -p styr-subscriber-example -- <kommun> [durable name]` with
//! NATS_URL pointing at the server `styr serve` runs, with an application
//! user's credentials (`nats://app:PASSWORD@127.0.0.1:4222`, as written to
//! `.styr/credentials/app.url`).

use futures::StreamExt;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let kommun = args.next().unwrap_or_else(|| "vimmerby".into());
    let durable = args.next().unwrap_or_else(|| "exempel-prenumerant".into());
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    // The client takes credentials from options, not from the URL itself.
    let (scheme, rest) = url.split_once("://").unwrap_or(("nats", url.as_str()));
    let client = match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            // Replies come under the user's own inbox prefix, the only one
            // the server lets it subscribe to.
            async_nats::ConnectOptions::with_user_and_password(user.into(), password.into())
                .custom_inbox_prefix(format!("_INBOX_{user}"))
                .connect(format!("{scheme}://{host}"))
                .await?
        }
        None => async_nats::connect(&url).await?,
    };
    let notices = styr_subscriber_example::follow(client, &kommun, &durable).await?;
    futures::pin_mut!(notices);
    println!("Följer avslutade uppdrag och rapporterade avvikelser i {kommun} (Ctrl-C avslutar)");
    while let Some(n) = notices.next().await {
        let n = n?;
        println!(
            "{:>6}  {:<18} {:<14} {}",
            n.sequence, n.event_type, n.id, n.payload
        );
    }
    Ok(())
}
