//! The revisor's report as files: Markdown, HTML for screen and A4 print
//! (maud: every text is escaped by construction), CSV as Swedish Excel
//! opens it (`;`, UTF-8 with BOM, CRLF; the csv crate quotes) and an xlsx
//! workbook with one sheet per table and typed cells.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::Datelike;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

use crate::report::{count, Cell, RevisorReport, Table, Tone};

/// Screen and print (A4): each section starts a page, table headers repeat
/// on every page, a row is never cut.
const CSS: &str = "
body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0;width:100%}
td,th{border:1px solid #999;padding:3px 6px;vertical-align:top;font-size:85%;text-align:left}
th{background:#eee}
td.num{text-align:right;white-space:nowrap}td.date{white-space:nowrap}
thead{display:table-header-group}
tr{break-inside:avoid;page-break-inside:avoid}
h2{break-after:avoid;page-break-after:avoid}
.matrix td{width:10em;height:4em;text-align:center}
.low{background:#cfe8cf}.mid{background:#fbe7a6}.high{background:#f4b6b0}
.ok{color:#1a6b1a}.bad{color:#a11;font-weight:bold}
td.good{background:#d7efd7}td.warn{background:#fbeeb8}td.badc{background:#f6c9c4}td.muted{background:#e4e4e4}
.broken{border:3px solid #a11;padding:0.5em 1em;color:#a11;font-weight:bold}
small{color:#555}
@page{size:A4;margin:14mm 12mm}
@media print{body{max-width:none;margin:0;font-size:10pt}section{break-before:page;page-break-before:always}section.first{break-before:auto;page-break-before:auto}}
";

fn tone_class(t: Tone) -> &'static str {
    match t {
        Tone::Good => "good",
        Tone::Warn => "warn",
        Tone::Bad => "badc",
        Tone::Muted => "muted",
    }
}

fn tone_mark(t: Tone) -> &'static str {
    match t {
        Tone::Good => "🟢",
        Tone::Warn => "🟡",
        Tone::Bad => "🔴",
        Tone::Muted => "⚪",
    }
}

/// The risk matrix cell's colour by score.
fn score_class(score: u8) -> &'static str {
    if score >= 12 {
        "high"
    } else if score >= 6 {
        "mid"
    } else {
        "low"
    }
}

impl RevisorReport {
    fn title(&self) -> String {
        format!("Revisionsunderlag {} — {}", self.year, self.kommun_name)
    }

    fn made(&self) -> String {
        format!(
            "Underlag för revisorernas granskning av {}, sammanställt {} ur Styrkedjas historik.",
            self.year, self.today
        )
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# {}\n\n{}\n", markdown_cell(&self.title()), self.made());
        let _ = writeln!(s, "## Historikens äkthet\n");
        for l in self.verification_lines() {
            let _ = writeln!(s, "- {}", markdown_cell(&l));
        }
        for t in self.tables() {
            let _ = writeln!(s, "\n## {}\n", t.title);
            if t.rows.is_empty() {
                let _ = writeln!(s, "Inga.");
            } else {
                let _ = writeln!(
                    s,
                    "| {} |\n|{}",
                    t.header.join(" | ").replace('_', " "),
                    "---|".repeat(t.header.len())
                );
                for r in &t.rows {
                    let cells: Vec<String> = r
                        .iter()
                        .map(|c| {
                            let text = markdown_cell(&c.display());
                            match c.tone() {
                                Some(tone) => format!("{} {text}", tone_mark(tone)),
                                None => text,
                            }
                        })
                        .collect();
                    let _ = writeln!(s, "| {} |", cells.join(" | "));
                }
            }
            if t.file == "intern_kontroll.csv" {
                self.markdown_matrix(&mut s);
            }
        }
        s
    }

    fn markdown_matrix(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "\n### Riskmatris (sannolikhet × konsekvens, {})\n",
            count(self.risks().len(), "risk", "risker")
        );
        let _ = writeln!(
            s,
            "| konsekvens \\ sannolikhet | 1 | 2 | 3 | 4 |\n|---|---|---|---|---|"
        );
        let m = self.matrix();
        for c in (1..=4u8).rev() {
            let cells: Vec<String> = (1..=4u8)
                .map(|l| {
                    m.get(&(c, l)).map_or(String::new(), |v| {
                        v.iter()
                            .map(|(id, text)| format!("{} ({id})", markdown_cell(text)))
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                })
                .collect();
            let _ = writeln!(s, "| {c} | {} |", cells.join(" | "));
        }
    }

    /// The report as one HTML page, for screen and A4 print.
    pub fn html(&self) -> String {
        let broken = self.verification.is_err();
        let page: Markup = html! {
            (DOCTYPE)
            html lang="sv" {
                head {
                    meta charset="utf-8";
                    title { (self.title()) }
                    style { (PreEscaped(CSS)) }
                }
                body {
                    section.first {
                        h1 { (self.title()) }
                        p { (self.made()) }
                        h2 { "Historikens äkthet" }
                        div class=(if broken { "broken" } else { "" }) {
                            @for l in self.verification_lines() {
                                p class=(if broken { "bad" } else { "ok" }) { (l) }
                            }
                        }
                    }
                    @for t in self.tables() {
                        section {
                            h2 { (t.title) }
                            (html_table(&t))
                            @if t.file == "intern_kontroll.csv" {
                                (self.html_matrix())
                            }
                        }
                    }
                }
            }
        };
        page.into_string()
    }

    fn html_matrix(&self) -> Markup {
        let m = self.matrix();
        html! {
            h3 { "Riskmatris (sannolikhet × konsekvens, " (count(self.risks().len(), "risk", "risker")) ")" }
            table.matrix {
                thead { tr { th { "konsekvens \\ sannolikhet" } @for l in 1..=4u8 { th { (l) } } } }
                tbody {
                    @for c in (1..=4u8).rev() {
                        tr {
                            th { (c) }
                            @for l in 1..=4u8 {
                                td class=(score_class(c * l)) {
                                    @if let Some(risks) = m.get(&(c, l)) {
                                        @for (id, text) in risks {
                                            div { (text) " " small { "(" (id) ")" } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Each table as CSV for Swedish Excel: `;` between fields, UTF-8 with
    /// a byte-order mark, CRLF line ends. A text that a spreadsheet would
    /// take for a formula (`=`, `+`, `-`, `@` first) is prefixed with `'`.
    pub fn csv(&self) -> Result<BTreeMap<&'static str, Vec<u8>>, csv::Error> {
        let mut out = BTreeMap::new();
        for t in self.tables() {
            let mut w = csv::WriterBuilder::new()
                .delimiter(b';')
                .terminator(csv::Terminator::CRLF)
                .from_writer(b"\xEF\xBB\xBF".to_vec());
            w.write_record(&t.header)?;
            for r in &t.rows {
                w.write_record(r.iter().map(csv_field))?;
            }
            let bytes = w
                .into_inner()
                .map_err(|e| csv::Error::from(e.into_error()))?;
            out.insert(t.file, bytes);
        }
        Ok(out)
    }

    /// One workbook: a sheet per table, header row bold and frozen, amounts
    /// and counts as numbers, dates as dates, everything else as text.
    pub fn xlsx(&self) -> Result<Vec<u8>, XlsxError> {
        let mut book = Workbook::new();
        let bold = Format::new().set_bold();
        let date = Format::new().set_num_format("yyyy-mm-dd");
        let thousands = Format::new().set_num_format("#,##0");
        let red = Format::new().set_font_color("#AA1111").set_bold();
        for t in self.tables() {
            let sheet = book.add_worksheet();
            sheet.set_name(t.file.trim_end_matches(".csv"))?;
            for (c, h) in t.header.iter().enumerate() {
                sheet.write_string_with_format(0, c as u16, *h, &bold)?;
            }
            for (r, row) in t.rows.iter().enumerate() {
                let r = r as u32 + 1;
                for (c, cell) in row.iter().enumerate() {
                    let c = c as u16;
                    match cell {
                        Cell::Amount(n) => {
                            sheet.write_number_with_format(r, c, *n as f64, &thousands)?;
                        }
                        Cell::Number(f) => {
                            sheet.write_number(r, c, *f)?;
                        }
                        Cell::Date(d) => {
                            let day = ExcelDateTime::from_ymd(
                                u16::try_from(d.year()).unwrap_or(1900),
                                d.month() as u8,
                                d.day() as u8,
                            )?;
                            sheet.write_datetime_with_format(r, c, &day, &date)?;
                        }
                        Cell::Status(s, Tone::Bad) => {
                            sheet.write_string_with_format(r, c, excel_text(s), &red)?;
                        }
                        Cell::Text(s) | Cell::Status(s, _) => {
                            sheet.write_string(r, c, excel_text(s))?;
                        }
                        Cell::Empty => {}
                    }
                }
            }
            sheet.set_freeze_panes(1, 0)?;
            sheet.autofit();
        }
        book.save_to_buffer()
    }
}

/// Text inside a Markdown table cell: no raw HTML (a decision's title is
/// user input), no column break, one line.
fn markdown_cell(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// Excel holds at most 32 767 characters in a cell; a longer text is cut
/// there (the CSV and HTML keep it whole).
fn excel_text(s: &str) -> &str {
    const MAX: usize = 32_767;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn csv_field(c: &Cell) -> String {
    let s = c.plain();
    match c {
        Cell::Text(_) | Cell::Status(..) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => {
            format!("'{s}")
        }
        _ => s,
    }
}

fn html_table(t: &Table) -> Markup {
    html! {
        @if t.rows.is_empty() {
            p { "Inga." }
        } @else {
            table {
                thead { tr { @for h in &t.header { th { (h.replace('_', " ")) } } } }
                tbody {
                    @for row in &t.rows {
                        tr {
                            @for c in row {
                                @match c {
                                    Cell::Amount(_) | Cell::Number(_) => td.num { (c.display()) },
                                    Cell::Date(_) => td.date { (c.display()) },
                                    Cell::Status(s, tone) => td class=(tone_class(*tone)) { (s) },
                                    _ => td { (c.display()) },
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spreadsheet_never_reads_a_decision_title_as_a_formula() {
        for evil in ["=HYPERLINK(\"http://x\")", "+1", "-1+2", "@SUM(A1)", "\tx"] {
            assert_eq!(csv_field(&Cell::Text(evil.into())), format!("'{evil}"));
            assert_eq!(
                csv_field(&Cell::Status(evil.into(), Tone::Bad)),
                format!("'{evil}")
            );
        }
        // Numbers stay numbers, negative ones too.
        assert_eq!(csv_field(&Cell::Amount(-1200)), "-1200");
        assert_eq!(csv_field(&Cell::Text("Ny skola".into())), "Ny skola");
    }

    #[test]
    fn markdown_cells_carry_no_html_and_no_column_breaks() {
        assert_eq!(
            markdown_cell("<script>x</script> | a\nb & c"),
            "&lt;script&gt;x&lt;/script&gt; \\| a b &amp; c"
        );
    }

    #[test]
    fn excel_cells_are_cut_at_its_limit_on_a_character_boundary() {
        let long = "å".repeat(40_000);
        assert_eq!(excel_text(&long).chars().count(), 32_767);
        assert_eq!(excel_text("kort"), "kort");
    }
}
