//! `wasmgate top`: a live view of the gateway's routes — requests per second, p50 and p99
//! latency, 4xx and 5xx, throttled, in flight and queued — refreshed every `--interval`
//! from the admin API's `/metrics` (`sample.rs` computes the figures). `q`, Esc or Ctrl-C
//! quits. `--once` prints one sample (two scrapes an interval apart) and exits; with
//! `--json`, as JSON, for scripts. Without a terminal it prints a table every interval.

mod sample;

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use clap::Args;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::Constraint;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Row, Table};

use super::client::{AdminArgs, AdminClient};
use sample::{RouteFigures, Scrape, figures};

/// `wasmgate top`.
#[derive(Debug, Args)]
pub(super) struct TopArgs {
    /// Seconds between refreshes (0.1 to 60).
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    interval: f64,

    /// Print one sample and exit.
    #[arg(long)]
    once: bool,

    #[command(flatten)]
    admin: AdminArgs,
}

const COLUMNS: [&str; 9] = [
    "ROUTE",
    "REQ/S",
    "P50 MS",
    "P99 MS",
    "4XX/S",
    "5XX/S",
    "THROTTLED/S",
    "IN FLIGHT",
    "QUEUED",
];

pub(super) fn top(args: TopArgs) -> anyhow::Result<()> {
    let client = AdminClient::new(&args.admin)?;
    let interval = Duration::from_secs_f64(args.interval.clamp(0.1, 60.0));
    let mut sampler = Sampler::new(client)?;
    if args.once || args.admin.json || !std::io::stdout().is_terminal() {
        loop {
            std::thread::sleep(interval);
            let routes = sampler.next()?;
            if args.admin.json {
                let sample = serde_json::json!({
                    "interval_seconds": sampler.seconds,
                    "routes": routes,
                });
                println!("{sample}");
            } else {
                println!("{}\n", plain_table(&routes));
            }
            if args.once {
                return Ok(());
            }
        }
    }
    let mut terminal = ratatui::init();
    let shown = live_view(&mut terminal, &mut sampler, interval);
    ratatui::restore();
    shown
}

/// Scrapes, keeping the previous one to compute rates against.
struct Sampler {
    client: AdminClient,
    previous: Scrape,
    at: Instant,
    /// Seconds between the last two scrapes.
    seconds: f64,
}

impl Sampler {
    fn new(client: AdminClient) -> anyhow::Result<Self> {
        let previous = Scrape::parse(&client.get_text("/metrics")?);
        Ok(Sampler {
            client,
            previous,
            at: Instant::now(),
            seconds: 0.0,
        })
    }

    /// Scrapes again; the figures since the previous scrape.
    fn next(&mut self) -> anyhow::Result<Vec<RouteFigures>> {
        let scrape = Scrape::parse(&self.client.get_text("/metrics")?);
        self.seconds = self.at.elapsed().as_secs_f64();
        self.at = Instant::now();
        let routes = figures(&self.previous, &scrape, self.seconds);
        self.previous = scrape;
        Ok(routes)
    }
}

/// One route's cells.
fn cells(route: &RouteFigures) -> [String; 9] {
    let ms = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.2}"));
    let name = if route.method.is_empty() {
        route.route.clone()
    } else {
        format!("{} {}", route.method, route.route)
    };
    [
        name,
        format!("{:.1}", route.requests_per_second),
        ms(route.p50_ms),
        ms(route.p99_ms),
        format!("{:.1}", route.client_errors_per_second),
        format!("{:.1}", route.server_errors_per_second),
        format!("{:.1}", route.throttled_per_second),
        format!("{}", route.in_flight),
        format!("{}", route.queued),
    ]
}

/// The routes as a plain text table.
fn plain_table(routes: &[RouteFigures]) -> String {
    let rows: Vec<[String; 9]> = routes.iter().map(cells).collect();
    let width = |column: usize| {
        rows.iter()
            .map(|row| row[column].chars().count())
            .chain([COLUMNS[column].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..COLUMNS.len()).map(width).collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut lines = vec![line(COLUMNS.to_vec())];
    lines.extend(
        rows.iter()
            .map(|row| line(row.iter().map(String::as_str).collect())),
    );
    lines.join("\n")
}

/// Draws the table until a quit key, refreshing every `interval`.
fn live_view(
    terminal: &mut ratatui::DefaultTerminal,
    sampler: &mut Sampler,
    interval: Duration,
) -> anyhow::Result<()> {
    let mut routes = Vec::new();
    let mut next = Instant::now() + interval;
    loop {
        let title = format!(
            " wasmgate top — {} routes, every {:.1} s — q quits ",
            routes.len(),
            interval.as_secs_f64()
        );
        terminal.draw(|frame| {
            let header = Row::new(COLUMNS).style(Style::new().add_modifier(Modifier::BOLD));
            let rows = routes.iter().map(|route| Row::new(cells(route)));
            let widths = [
                Constraint::Fill(1),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(7),
                Constraint::Length(7),
                Constraint::Length(11),
                Constraint::Length(9),
                Constraint::Length(6),
            ];
            let table = Table::new(rows, widths)
                .header(header)
                .block(Block::bordered().title(title));
            frame.render_widget(table, frame.area());
        })?;
        let wait = next.saturating_duration_since(Instant::now());
        if event::poll(wait)?
            && let Event::Key(key) = event::read()?
            && key.kind == KeyEventKind::Press
        {
            let ctrl_c =
                key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
            if matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) || ctrl_c {
                return Ok(());
            }
        }
        if Instant::now() >= next {
            routes = sampler.next()?;
            next = Instant::now() + interval;
        }
    }
}
