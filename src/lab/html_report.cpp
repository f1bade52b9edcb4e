#include "lab/html_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "lab/summary.hpp"

namespace outboard::lab {

namespace {

using nlohmann::json;

// ---- reading the results document -------------------------------------------------------------
// The page must render whatever a writer of any version produced, so every read has a default:
// a missing or mistyped field renders as 0 or "", never throws.

json const& null_json() {
  static json const kNull;
  return kNull;
}

json const& member(json const& object, std::string_view key) {
  if (!object.is_object()) return null_json();
  auto it = object.find(std::string(key));
  return it == object.end() ? null_json() : *it;
}

// NaN and infinities cannot be written as JSON numbers and make no sense in a cell: shown as 0.
double number(json const& object, std::string_view key) {
  json const& value = member(object, key);
  if (!value.is_number()) return 0.0;
  double const d = value.get<double>();
  return std::isfinite(d) ? d : 0.0;
}

std::string text(json const& object, std::string_view key, std::string_view fallback = {}) {
  json const& value = member(object, key);
  return value.is_string() ? value.get<std::string>() : std::string(fallback);
}

std::vector<json const*> array_items(json const& value) {
  std::vector<json const*> items;
  if (value.is_array()) {
    for (json const& item : value) items.push_back(&item);
  }
  return items;
}

// ---- escaping ---------------------------------------------------------------------------------

// Text and attribute values alike: the five characters that can end a text run or an attribute.
std::string html_escape(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// The results as the text of a <script type="application/json">. Inside <script> only "</script"
// and "<!--" matter to the HTML parser, and both need a '<'; in JSON a '<' can only sit inside a
// string, where \u003c means the same character. Escaping every '<' is therefore stricter than
// the usual "</" -> "<\/" and also keeps "<!--<script" from switching the parser into its
// escaped-script state. Invalid UTF-8 from a writer is replaced rather than thrown on.
std::string json_for_script(json const& results) {
  std::string const dumped = results.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(dumped.size());
  for (char c : dumped) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

// ---- number formatting ------------------------------------------------------------------------

std::string format_value(double value, int decimals) {
  if (decimals == 0 && std::abs(value) < 1e15) {
    return fmt::format("{}", static_cast<long long>(std::llround(value)));
  }
  return fmt::format("{:.{}f}", value, decimals);
}

// ---- the page -----------------------------------------------------------------------------------

std::string scenario_name(json const& results) {
  return text(member(results, "scenario"), "name", "unnamed scenario");
}

// "3 servers · 200 users · closed arrivals · 20 s · store sqlite · seed 1 · started ...";
// fields the document lacks are left out rather than shown as 0.
std::string settings_line(json const& results) {
  json const& settings = member(results, "settings");
  std::vector<std::string> parts;
  auto count = [&](std::string_view key, std::string_view unit) {
    if (member(settings, key).is_number()) {
      parts.push_back(fmt::format("{} {}", format_value(number(settings, key), 0), unit));
    }
  };
  count("servers", "servers");
  count("gateways", "gateways");
  if (text(settings, "registry") == "etcd") parts.push_back("registry etcd");
  count("users", "users");
  std::string const arrival = text(settings, "arrival");
  if (arrival == "open") {
    parts.push_back(fmt::format("open arrivals at {}/s", format_value(number(settings, "rate_per_s"), 1)));
  } else if (!arrival.empty()) {
    parts.push_back(arrival + " arrivals");
  }
  count("duration_s", "s");
  if (std::string const store = text(settings, "store"); !store.empty()) parts.push_back("store " + store);
  if (member(settings, "seed").is_number()) parts.push_back("seed " + format_value(number(settings, "seed"), 0));
  if (std::string const started = text(results, "started_at"); !started.empty()) {
    parts.push_back("started " + started);
  }
  std::string line;
  for (auto const& part : parts) {
    if (!line.empty()) line += " \u00b7 ";
    line += part;
  }
  return line;
}

std::string_view cell_class(RowKind kind, double value) {
  if (kind == RowKind::volume) return "";
  if (value == 0.0) return "zero";
  return kind == RowKind::loss ? "loss" : "warn";
}

bool verdict_ok(json const& mode) {
  json const& ok = member(member(mode, "verdict"), "ok");
  return ok.is_boolean() && ok.get<bool>();
}

std::string verdict_badge(json const& mode) {
  return verdict_ok(mode) ? "<span class=\"badge pass\">PASS</span>" : "<span class=\"badge fail\">FAIL</span>";
}

std::string mode_name(json const& mode, std::size_t index) {
  return text(mode, "mode", fmt::format("mode {}", index + 1));
}

void append_verdicts(std::string& page, std::vector<json const*> const& modes) {
  page += "<section id=\"verdicts\"><h2>Verdict</h2><ul class=\"verdicts\">\n";
  for (std::size_t i = 0; i < modes.size(); ++i) {
    json const& mode = *modes[i];
    page += fmt::format("<li class=\"{}\">{} <b>{}</b> {}</li>\n", verdict_ok(mode) ? "ok" : "bad",
                        verdict_badge(mode), html_escape(mode_name(mode, i)),
                        html_escape(text(member(mode, "verdict"), "text")));
  }
  page += "</ul></section>\n";
}

// Built here rather than by the script so the numbers that matter read fine with JavaScript off.
void append_summary_table(std::string& page, std::vector<json const*> const& modes) {
  page += "<section id=\"summary\"><h2>Side by side</h2>\n<table class=\"summary\">\n<thead><tr><th></th>";
  for (std::size_t i = 0; i < modes.size(); ++i) {
    json const& mode = *modes[i];
    page += fmt::format("<th scope=\"col\" title=\"{}\">{}<br>{}</th>",
                        html_escape(text(mode, "description")), html_escape(mode_name(mode, i)),
                        verdict_badge(mode));
  }
  page += "</tr></thead>\n";
  for (TableSection const& group : table_sections()) {
    if (!section_shown(group, modes)) continue;
    page += fmt::format("<tbody><tr class=\"group\"><th colspan=\"{}\">{}</th></tr>\n", modes.size() + 1,
                        html_escape(group.heading));
    for (TableRow const& row : group.rows) {
      page += fmt::format("<tr title=\"{}\"><th scope=\"row\">{}</th>", html_escape(row.meaning),
                          html_escape(row.label));
      for (json const* mode : modes) {
        double const value = number(member(*mode, row.group), row.key);
        std::string_view const cls = cell_class(row.kind, value);
        page += cls.empty() ? "<td>" : fmt::format("<td class=\"{}\">", cls);
        page += format_value(value, row.decimals);
        page += "</td>";
      }
      page += "</tr>\n";
    }
    page += "</tbody>\n";
  }
  page += "</table></section>\n";
}

// What each invariant counts, on the page: the table's rows say it again as tooltips. Only the
// invariants of the sections the table shows (a run without the jobs workload has no receipts).
void append_glossary(std::string& page, std::vector<json const*> const& modes) {
  page += "<section id=\"glossary\"><h2>What the invariants mean</h2>\n"
          "<p class=\"muted\">Counted by each virtual user's ledger, on the client side, against what the shop "
          "answered; a design passes only with zero on every one. Failed attempts, retries and load are context, "
          "not losses: hover over a row of the table for its meaning.</p>\n<dl class=\"glossary\">";
  for (TableSection const& group : table_sections()) {
    if (!section_shown(group, modes)) continue;
    for (TableRow const& row : group.rows) {
      if (row.kind != RowKind::loss) continue;
      page += fmt::format("<dt>{}</dt><dd>{}</dd>", html_escape(row.label), html_escape(row.meaning));
    }
  }
  page += "</dl></section>\n";
}

// Fixed colours, one per instance in name order, so s1 has the same colour in every mode.
std::string_view instance_colour(std::size_t index) {
  static constexpr std::string_view kPalette[] = {"#1a73e8", "#e8710a", "#188038", "#9334e6",
                                                  "#d01884", "#12b5cb", "#795548", "#5f6368"};
  return kPalette[index % std::size(kPalette)];
}

// The share of responses per instance as one stacked bar: with sticky routing an imbalance (one
// instance carrying most users, or a dead one's users piling onto a neighbour) is visible at once.
void append_served_by(std::string& page, json const& mode) {
  json const& served = member(mode, "served_by");
  double total = 0;
  if (served.is_object()) {
    for (auto const& item : served.items()) {
      if (item.value().is_number()) total += std::max(0.0, number(served, item.key()));
    }
  }
  page += "<div class=\"served-by\"><h3>Served by</h3>";
  if (total <= 0) {
    page += "<p class=\"muted\">no responses recorded</p></div>\n";
    return;
  }
  page += "<div class=\"served\">";
  std::string legend;
  std::size_t index = 0;
  for (auto const& item : served.items()) {
    double const count = std::max(0.0, number(served, item.key()));
    double const share = 100.0 * count / total;
    std::string const name = html_escape(item.key());
    std::string_view const colour = instance_colour(index++);
    page += fmt::format("<span style=\"width:{:.3f}%;background:{}\" title=\"{}: {} ({:.1f}%)\">{}</span>", share,
                        colour, name, format_value(count, 0), share, share >= 8.0 ? name : "");
    legend += fmt::format("<li><i style=\"background:{}\"></i>{} {} ({:.1f}%)</li>", colour, name,
                          format_value(count, 0), share);
  }
  page += "</div><ul class=\"served-legend\">" + legend + "</ul></div>\n";
}

// Numbered in time order (stable for ties): the charts label each fault with the same number.
void append_faults(std::string& page, json const& mode) {
  auto faults = array_items(member(mode, "faults"));
  std::stable_sort(faults.begin(), faults.end(),
                   [](json const* a, json const* b) { return number(*a, "t_ms") < number(*b, "t_ms"); });
  if (faults.empty()) {
    page += "<p class=\"muted\">no faults injected</p>\n";
    return;
  }
  page += "<ol class=\"faults\">";
  for (json const* fault : faults) {
    page += fmt::format("<li><b>{:.1f} s</b> {} <span class=\"muted\">{}</span></li>", number(*fault, "t_ms") / 1000.0,
                        html_escape(text(*fault, "kind", "fault")), html_escape(text(*fault, "detail")));
  }
  page += "</ol>\n";
}

// The kinds the script knows how to draw (see draw_all in kScript), with their captions.
struct ChartKind {
  std::string_view id;
  std::string_view caption;
};
constexpr ChartKind kCharts[] = {
    {"throughput", "throughput (requests/s)"},
    {"errors", "errors/s and logouts/s"},
    {"latency", "p99 latency per second (ms)"},
};

void append_mode_section(std::string& page, json const& mode, std::size_t index) {
  page += fmt::format("<section class=\"mode\" id=\"mode-{}\"><h2>{} {}</h2>\n", index, html_escape(mode_name(mode, index)),
                      verdict_badge(mode));
  if (std::string const description = text(mode, "description"); !description.empty()) {
    page += fmt::format("<p class=\"muted\">{}</p>\n", html_escape(description));
  }
  append_served_by(page, mode);
  page += "<div class=\"charts\">";
  for (ChartKind const& chart : kCharts) {
    page += fmt::format(
        "<figure><figcaption>{}</figcaption><canvas data-mode=\"{}\" data-chart=\"{}\" "
        "role=\"img\" aria-label=\"{}\"></canvas></figure>",
        chart.caption, index, chart.id, chart.caption);
  }
  page += "</div>\n<h3>Faults</h3>\n";
  append_faults(page, mode);
  page += "</section>\n";
}

constexpr std::string_view kStyle = R"CSS(
:root { color-scheme: light; --ok: #137333; --ok-bg: #e6f4ea; --bad: #a50e0e; --bad-bg: #fce8e6;
        --warn: #8a5a00; --warn-bg: #fef7e0; --line: #dadce0; --muted: #5f6368; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px;
       color: #202124; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 24px 0 8px; }
h3 { font-size: 14px; margin: 12px 0 4px; }
.muted, .settings { color: var(--muted); }
table.summary { border-collapse: collapse; }
table.summary th, table.summary td { border: 1px solid var(--line); padding: 3px 10px; }
table.summary thead th { vertical-align: bottom; }
table.summary tbody th { text-align: left; font-weight: normal; }
table.summary tr.group th { background: #f1f3f4; font-weight: 600; }
table.summary td { text-align: right; font-variant-numeric: tabular-nums; }
td.zero { background: var(--ok-bg); color: var(--ok); }
td.loss { background: var(--bad-bg); color: var(--bad); font-weight: 700; }
td.warn { background: var(--warn-bg); color: var(--warn); }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 700;
         color: #fff; vertical-align: middle; }
.badge.pass { background: var(--ok); }
.badge.fail { background: var(--bad); }
ul.verdicts { list-style: none; padding: 0; }
ul.verdicts li { margin: 3px 0; }
section.mode { border-top: 1px solid var(--line); margin-top: 24px; }
.served { display: flex; height: 22px; max-width: 720px; border: 1px solid var(--line); border-radius: 4px;
          overflow: hidden; }
.served span { color: #fff; font-size: 12px; line-height: 22px; padding-left: 4px; white-space: nowrap;
               overflow: hidden; box-sizing: border-box; }
ul.served-legend { list-style: none; padding: 0; margin: 4px 0; display: flex; flex-wrap: wrap; gap: 4px 14px;
                   font-size: 12px; }
ul.served-legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 12px; margin-top: 12px; }
figure { margin: 0; padding: 6px; border: 1px solid var(--line); border-radius: 6px; }
figcaption { font-size: 13px; font-weight: 600; }
canvas { display: block; width: 100%; height: 200px; }
ol.faults { padding-left: 24px; margin: 4px 0; }
dl.glossary { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; max-width: 960px; }
dl.glossary dt { font-weight: 600; }
dl.glossary dd { margin: 0; }
#render-error { color: var(--bad); background: var(--bad-bg); padding: 8px; white-space: pre-wrap; }
)CSS";

// Draws every <canvas data-chart> from the embedded results. Plain JavaScript, no library, so the
// page works offline and from file://. The script reads the same defaults as the C++ above:
// missing fields are 0 or empty, never NaN. On success it sets body[data-rendered] to the number
// of charts drawn (the headless-Chromium test waits for it); on failure it shows the error in
// #render-error and rethrows so it also reaches the console.
constexpr std::string_view kScript = R"JS(
(function () {
  "use strict";
  const COLOURS = { requests: "#1a73e8", errors: "#d93025", logouts: "#e8a200", p99: "#9334e6",
                    fault: "#5f6368", grid: "#eceff1", axis: "#9aa0a6", text: "#3c4043" };
  const KINDS = ["throughput", "errors", "latency"];
  const LEGEND_HEIGHT = 22;
  const LABEL_ROW_HEIGHT = 15;

  function num(v) { return typeof v === "number" && isFinite(v) ? v : 0; }
  function list(v) { return Array.isArray(v) ? v : []; }
  function obj(v) { return v !== null && typeof v === "object" && !Array.isArray(v) ? v : {}; }

  // 1, 2 or 5 times a power of ten, splitting SPAN into at most MAX_PARTS.
  function nice_step(span, max_parts) {
    if (!(span > 0)) return 1;
    const raw = span / max_parts;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5]) if (m * power >= raw) return m * power;
    return 10 * power;
  }

  function label(v) {
    if (Math.abs(v) >= 10000) return Math.round(v / 1000) + "k";
    if (Math.abs(v) >= 1000) return (v / 1000).toFixed(1) + "k";
    return Number.isInteger(v) ? String(v) : v.toFixed(1);
  }

  // A timeline sample covers one second [t, t+1) and is drawn as a step over that second, so a
  // value never seems to rise before the fault that caused it (a line between mid-seconds did).
  function series_for(kind, mode) {
    const samples = list(mode.timeline).map(obj);
    const pick = (key) => samples.map((s) => [num(s.t), Math.max(0, num(s[key]))]);
    if (kind === "throughput") return [{ name: "requests/s", colour: COLOURS.requests, points: pick("requests") }];
    if (kind === "errors") {
      return [{ name: "errors/s", colour: COLOURS.errors, points: pick("errors") },
              { name: "logouts/s", colour: COLOURS.logouts, points: pick("logouts") }];
    }
    if (kind === "latency") return [{ name: "p99 ms", colour: COLOURS.p99, points: pick("p99_ms") }];
    throw new Error("unknown chart kind " + JSON.stringify(kind));
  }

  // One y-axis per chart kind, shared by every design: the same height is the same number in
  // every mode, so designs compare side by side.
  function y_axes(modes) {
    const axes = {};
    for (const kind of KINDS) {
      let y_max = 0;
      for (const mode of modes) {
        for (const s of series_for(kind, mode)) for (const p of s.points) y_max = Math.max(y_max, p[1]);
      }
      const step = nice_step(y_max > 0 ? y_max : 1, 4);
      axes[kind] = { step: step, top: Math.max(step, Math.ceil(y_max / step) * step) };
    }
    return axes;
  }

  function x_end_for(mode, faults, duration_s) {
    let end = Math.max(1, duration_s);
    for (const s of list(mode.timeline).map(obj)) end = Math.max(end, num(s.t) + 1);
    for (const f of faults) end = Math.max(end, num(f.t_ms) / 1000);
    return end;
  }

  // Faults are numbered in time order (the list under the charts uses the same numbers). Each
  // number sits above its fault in the first row where it overlaps no other label, with as many
  // rows as it takes, so labels never overlap however close their faults are.
  function layout_fault_labels(ctx, faults, x_of, width) {
    const row_ends = [];
    return faults.map((f, i) => {
      const text = String(i + 1);
      const w = ctx.measureText(text).width + 8;
      const x = x_of(num(f.t_ms) / 1000);
      const left = Math.max(0, Math.min(x - w / 2, width - w));
      let row = 0;
      while (row < row_ends.length && left < row_ends[row] + 2) ++row;
      row_ends[row] = left + w;
      return { x: x, left: left, width: w, row: row, text: text };
    });
  }

  function draw_legend(ctx, series, with_faults, x) {
    const y = 10;
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    for (const s of series) {
      ctx.fillStyle = s.colour;
      ctx.fillRect(x, y - 4, 10, 8);
      ctx.fillStyle = COLOURS.text;
      ctx.fillText(s.name, x + 14, y);
      x += 22 + ctx.measureText(s.name).width;
    }
    if (with_faults) {
      ctx.strokeStyle = COLOURS.fault;
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(x + 5, y - 6);
      ctx.lineTo(x + 5, y + 6);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = COLOURS.text;
      ctx.fillText("fault (numbered as listed below)", x + 12, y);
    }
  }

  // Each sample a translucent bar over its second under a solid stepped outline.
  function draw_steps(ctx, s, x_of, y_of, bottom) {
    ctx.fillStyle = s.colour;
    ctx.globalAlpha = 0.16;
    for (const p of s.points) ctx.fillRect(x_of(p[0]), y_of(p[1]), x_of(p[0] + 1) - x_of(p[0]), bottom - y_of(p[1]));
    ctx.globalAlpha = 1;
    ctx.strokeStyle = s.colour;
    ctx.beginPath();
    s.points.forEach((p, i) => {
      if (i === 0) ctx.moveTo(x_of(p[0]), y_of(p[1]));
      else ctx.lineTo(x_of(p[0]), y_of(p[1]));
      ctx.lineTo(x_of(p[0] + 1), y_of(p[1]));
    });
    ctx.stroke();
  }

  function draw_chart(canvas, series, faults, x_end, axis) {
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("no 2d canvas context");
    ctx.font = "11px system-ui, sans-serif";
    const width = canvas.clientWidth || 360;
    const box = { left: 44, right: width - 12, top: 0, bottom: 0 };
    const x_of = (t) => box.left + (t / x_end) * (box.right - box.left);
    const labels = layout_fault_labels(ctx, faults, x_of, width);
    const rows = labels.reduce((n, l) => Math.max(n, l.row + 1), 0);
    // Taller by the label rows it needs, so the plot keeps its height.
    const height = 200 + LABEL_ROW_HEIGHT * Math.max(0, rows - 1);
    canvas.style.height = height + "px";
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1;
    box.top = LEGEND_HEIGHT + LABEL_ROW_HEIGHT * rows + 4;
    box.bottom = height - 22;

    const y_top = axis.top;
    const y_step = axis.step;
    const y_of = (v) => box.bottom - (v / y_top) * (box.bottom - box.top);

    // Grid and tick labels; i * step (not repeated addition) keeps labels free of rounding noise.
    ctx.fillStyle = COLOURS.text;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let i = 0; i * y_step <= y_top + y_step / 2 && i <= 20; ++i) {
      const y = y_of(i * y_step);
      ctx.strokeStyle = COLOURS.grid;
      ctx.beginPath();
      ctx.moveTo(box.left, y);
      ctx.lineTo(box.right, y);
      ctx.stroke();
      ctx.fillText(label(i * y_step), box.left - 4, y);
    }
    const x_step = Math.max(1, nice_step(x_end, 8));
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (let i = 0; i * x_step <= x_end + 1e-9 && i <= 50; ++i) {
      ctx.fillText(label(i * x_step) + (i === 0 ? "" : " s"), x_of(i * x_step), box.bottom + 5);
    }
    ctx.strokeStyle = COLOURS.axis;
    ctx.beginPath();
    ctx.moveTo(box.left, box.top);
    ctx.lineTo(box.left, box.bottom);
    ctx.lineTo(box.right, box.bottom);
    ctx.stroke();

    let samples = 0;
    ctx.lineWidth = 1.6;
    for (const s of series) {
      samples += s.points.length;
      draw_steps(ctx, s, x_of, y_of, box.bottom);
    }
    ctx.lineWidth = 1;
    if (samples === 0) {
      ctx.fillStyle = COLOURS.axis;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText("no samples", (box.left + box.right) / 2, (box.top + box.bottom) / 2);
    }

    for (const l of labels) {
      const row_top = LEGEND_HEIGHT + LABEL_ROW_HEIGHT * l.row;
      ctx.strokeStyle = COLOURS.fault;
      ctx.setLineDash([5, 4]);
      ctx.beginPath();
      ctx.moveTo(l.x, row_top + LABEL_ROW_HEIGHT - 2);
      ctx.lineTo(l.x, box.bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = "#fff";
      ctx.fillRect(l.left, row_top, l.width, LABEL_ROW_HEIGHT - 2);
      ctx.strokeRect(l.left + 0.5, row_top + 0.5, l.width - 1, LABEL_ROW_HEIGHT - 3);
      ctx.fillStyle = COLOURS.fault;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(l.text, l.left + l.width / 2, row_top + (LABEL_ROW_HEIGHT - 2) / 2);
    }

    draw_legend(ctx, series, faults.length > 0, box.left);
    // For tests and the curious: the axis used and where each fault label went.
    canvas.dataset.yTop = String(y_top);
    canvas.dataset.faultLabels = JSON.stringify(labels.map((l) => [l.left, l.left + l.width, l.row]));
  }

  const error_box = document.getElementById("render-error");
  try {
    const results = obj(JSON.parse(document.getElementById("results").textContent));
    const modes = list(results.modes).map(obj);
    const duration_s = num(obj(results.settings).duration_s);
    const axes = y_axes(modes);
    let drawn = 0;
    for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
      const mode = modes[Number(canvas.dataset.mode)] || {};
      // Stable sort: the same order as the numbered list the page prints under the charts.
      const faults = list(mode.faults).map(obj).sort((a, b) => num(a.t_ms) - num(b.t_ms));
      const kind = canvas.dataset.chart;
      draw_chart(canvas, series_for(kind, mode), faults, x_end_for(mode, faults, duration_s), axes[kind]);
      drawn += 1;
    }
    document.body.dataset.rendered = String(drawn);
  } catch (e) {
    if (error_box) {
      error_box.textContent = "The charts could not be drawn: " + (e && e.stack ? e.stack : String(e));
      error_box.hidden = false;
    }
    throw e;
  }
})();
)JS";

std::string sanitize_file_part(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    bool const keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-';
    out += keep ? c : '_';
  }
  return out;
}

std::string report_file_name(json const& results) {
  std::string started = text(results, "started_at", "undated");
  for (char& c : started) {
    if (c == ':') c = '-';
  }
  std::string name = text(member(results, "scenario"), "name");
  if (name.empty()) name = "unnamed";
  return sanitize_file_part(started) + "-" + sanitize_file_part(name) + ".html";
}

}  // namespace

std::string render_html_report(nlohmann::json const& results) {
  auto const modes = array_items(member(results, "modes"));
  std::string const title = "outboard lab: " + scenario_name(results);
  json const& scenario = member(results, "scenario");

  std::string page;
  page.reserve(64 * 1024);
  page += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  page += fmt::format("<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n", html_escape(title), kStyle);
  page += fmt::format("<header><h1>{}</h1>\n", html_escape(title));
  if (std::string const description = text(scenario, "description"); !description.empty()) {
    page += fmt::format("<p class=\"description\">{}</p>\n", html_escape(description));
  }
  page += fmt::format("<p class=\"settings\">{}</p></header>\n", html_escape(settings_line(results)));
  page += "<pre id=\"render-error\" hidden></pre>\n";

  if (modes.empty()) {
    page += "<p class=\"muted\">This run has no modes: nothing to compare.</p>\n";
  } else {
    append_verdicts(page, modes);
    append_summary_table(page, modes);
    append_glossary(page, modes);
    page += "<noscript><p class=\"muted\">The timeline charts need JavaScript; the table above does not.</p>"
            "</noscript>\n";
    for (std::size_t i = 0; i < modes.size(); ++i) append_mode_section(page, *modes[i], i);
  }

  page += "<script type=\"application/json\" id=\"results\">";
  page += json_for_script(results);
  page += "</script>\n<script>";
  page += kScript;
  page += "</script>\n</body>\n</html>\n";
  return page;
}

std::filesystem::path write_html_report(std::filesystem::path const& dir, nlohmann::json const& results) {
  std::filesystem::path const path = dir / report_file_name(results);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    throw std::runtime_error(
        fmt::format("cannot write HTML report {}: cannot create {}: {}", path.string(), dir.string(), ec.message()));
  }
  std::string const page = render_html_report(results);
  // Written beside the target and renamed, so a reader never sees half a page.
  std::filesystem::path const partial = path.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(page.data(), static_cast<std::streamsize>(page.size()));
    out.close();
    if (!out) {
      std::filesystem::remove(partial, ec);
      throw std::runtime_error(fmt::format("cannot write HTML report {}", path.string()));
    }
  }
  std::filesystem::rename(partial, path, ec);
  if (ec) {
    std::string const reason = ec.message();
    std::filesystem::remove(partial, ec);
    throw std::runtime_error(fmt::format("cannot write HTML report {}: {}", path.string(), reason));
  }
  return path;
}

}  // namespace outboard::lab
