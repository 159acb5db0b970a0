//! Loads a store with a deterministic, skewed dataset of reactions, written directly to
//! InfluxDB or SQLite rather than through ingest, and writes a manifest of what it wrote.

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::PathBuf;

use anyhow::bail;
use clap::Parser;
use reactions_tests::scale::generate::{Generator, Spec};
use reactions_tests::scale::load::load;
use reactions_tests::scale::manifest::{HotId, LoadRecord, Manifest};
use reactions_tests::scale::sink::Sink;
use shared::Timestamp;

/// Loads a store with a deterministic, Zipf-skewed dataset and writes its manifest.
#[derive(Parser)]
#[command(name = "dataset")]
struct Args {
    /// InfluxDB base URL, for example http://127.0.0.1:8086. Without it the embedded store in
    /// --data-dir is written.
    #[arg(long, conflicts_with = "data_dir")]
    influx_url: Option<String>,

    /// InfluxDB database; created when missing.
    #[arg(long, default_value = "reactions")]
    influx_db: String,

    /// Directory of the embedded store (reactions.sqlite), as query's --data-dir.
    #[arg(long, required_unless_present = "influx_url")]
    data_dir: Option<PathBuf>,

    /// Reactions to generate.
    #[arg(long, default_value = "5000000")]
    reactions: NonZeroU64,

    /// Distinct users; user ids are u-0 (the heaviest) to u-<users - 1>.
    #[arg(long, default_value = "500000")]
    users: NonZeroUsize,

    /// Distinct articles; article ids are a-0 (the hottest) to a-<articles - 1>.
    #[arg(long, default_value = "50000")]
    articles: NonZeroUsize,

    /// Days the reactions span, ending at --end.
    #[arg(long, default_value = "90")]
    days: NonZeroU32,

    /// End of the span (exclusive), RFC 3339 or epoch milliseconds.
    #[arg(long, default_value = "2026-01-01T00:00:00Z", value_parser = parse_time)]
    end: Timestamp,

    /// Zipf exponent of user activity; 0 makes every user equally active.
    #[arg(long, default_value = "0.8")]
    user_exponent: f64,

    /// Zipf exponent of article popularity; at 1.0 the hottest of 50,000 articles gets about
    /// 9% of all reactions.
    #[arg(long, default_value = "1.0")]
    article_exponent: f64,

    /// Seed of the random streams; the same seed and sizes give the same dataset.
    #[arg(long, default_value = "1")]
    seed: u64,

    /// Reactions per store write: one InfluxDB request of twice as many points, or one SQLite
    /// transaction.
    #[arg(long, default_value = "2500")]
    batch_reactions: NonZeroUsize,

    /// Writer threads. SQLite takes one write at a time, so there the others only generate.
    #[arg(long, default_value = "3")]
    writers: NonZeroUsize,

    /// Where to write the manifest (JSON).
    #[arg(long)]
    manifest: PathBuf,
}

fn parse_time(value: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339_or_millis(value).map_err(|error| error.to_string())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sink = match (&args.influx_url, &args.data_dir) {
        (Some(url), _) => Sink::influx(url, &args.influx_db)?,
        (None, Some(dir)) => Sink::embedded(dir)?,
        (None, None) => bail!("missing store: pass --influx-url or --data-dir"),
    };

    let already = sink.count()?;
    if already.by_user > 0 || already.by_article > 0 {
        bail!(
            "the store already contains {} reactions; load into an empty database or data \
             directory so that the manifest's counts match the store",
            already.by_user.max(already.by_article)
        );
    }

    let spec = Spec {
        seed: args.seed,
        reactions: args.reactions.get(),
        users: args.users.get(),
        articles: args.articles.get(),
        days: args.days.get(),
        end_ms: args.end.as_millis(),
        user_exponent: args.user_exponent,
        article_exponent: args.article_exponent,
        chunk_reactions: args.batch_reactions.get(),
    };
    let generator = Generator::new(spec.clone());
    let loaded = load(&generator, &sink, args.writers.get())?;
    sink.finish()?;

    let (store, location) = sink.describe(args.data_dir.as_deref());
    let record = LoadRecord {
        store,
        location,
        writers: args.writers.get(),
        load_seconds: loaded.elapsed.as_secs_f64(),
        stored: sink.count()?,
    };
    let manifest = Manifest::new(&spec, &loaded.tally, record);
    manifest.write(&args.manifest)?;
    print_summary(&manifest);
    println!("manifest: {}", args.manifest.display());
    Ok(())
}

fn print_summary(manifest: &Manifest) {
    println!(
        "loaded {} reactions into {} in {:.1} s ({:.0} reactions/s); the store counts {} by user and {} by article",
        manifest.reactions,
        manifest.store,
        manifest.load_seconds,
        manifest.reactions_per_second,
        manifest.stored.by_user,
        manifest.stored.by_article,
    );
    println!("hottest articles: {}", list(&manifest.hottest_articles));
    println!("heaviest users: {}", list(&manifest.hottest_users));
}

fn list(ids: &[HotId]) -> String {
    ids.iter()
        .map(|hot| format!("{} ({})", hot.id, hot.total))
        .collect::<Vec<_>>()
        .join(", ")
}
