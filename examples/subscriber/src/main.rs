//! `cargo run -p styr-subscriber-example -- <kommun> [durable name]` with
//! NATS_URL pointing at the server `styr serve` runs.

use futures::StreamExt;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let kommun = args.next().unwrap_or_else(|| "vimmerby".into());
    let durable = args.next().unwrap_or_else(|| "exempel-prenumerant".into());
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let client = async_nats::connect(&url).await?;
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
