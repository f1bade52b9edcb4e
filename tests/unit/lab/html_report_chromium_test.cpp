// The report page in a real browser: Debian's headless Chromium loads it from file://, runs its
// script, and we check the DOM it ends with, what it printed to the console and its screenshot.
// Chromium comes from scripts/setup.sh; when it is missing these tests fail (never skip).
//
// What Chromium prints (checked with Chromium 156 on Debian 12, --enable-logging=stderr --v=0):
// every console message, whatever its level, is one line
//   [pid:tid:date/time:INFO:CONSOLE:1] "message", source: file:///... (1)
// console.error is INFO like console.log, and an uncaught exception is the same kind of line
// with "Uncaught Error: ..." as its message. So the level cannot tell an error from a log; the
// report's script logs nothing, and any CONSOLE line at all is treated as a failure.
#include "lab/html_report.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/temp_dir.hpp"

namespace outboard::lab {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr char const* kChromium = "/usr/bin/chromium";
// Generous: a run takes about a second; the limit only stops a hung browser from hanging CI.
constexpr auto kHardTimeout = std::chrono::seconds(60);
constexpr int kChartsPerMode = 3;

// ---- a realistic results document ---------------------------------------------------------------

// Deterministic noise in [-1, 1]: the same document on every run, but no flat lines.
double wobble(int mode, int second) { return std::sin(second * 1.7 + mode * 2.3) * std::cos(second * 0.61 + mode); }

json timeline_for(int mode_index, std::string const& mode) {
  json timeline = json::array();
  for (int t = 0; t < 20; ++t) {
    double requests = 1800 + 120 * wobble(mode_index, t);
    double errors = std::max(0.0, 2 + 2 * wobble(mode_index + 7, t));
    double logouts = 0;
    double p99 = 35 + 8 * wobble(mode_index + 3, t);
    if (t == 5 || t == 6) {  // kill -9 s2 at 5 s
      requests *= t == 5 ? 0.55 : 0.8;
      errors += t == 5 ? 260 : 40;
      logouts = mode == "stateless" ? 0 : (t == 5 ? 70 : 12);
      p99 = t == 5 ? 1450 : 420;
    }
    if (t >= 11 && t <= 16) {  // rolling deploy: one server at a time from 11 s
      requests *= 0.9;
      errors += mode == "stateless" ? 1 : 9;
      logouts = mode == "stateful" ? 14 + (t % 3) : 0;
      p99 = 90 + 30 * (t % 2);
    }
    timeline.push_back({{"t", t},
                        {"requests", std::round(requests)},
                        {"errors", std::round(errors)},
                        {"logouts", logouts},
                        {"p99_ms", std::round(p99 * 10) / 10}});
  }
  return timeline;
}

std::string verdict_text(int logouts, int lost_lines) {
  return std::to_string(logouts) + " unexpected logouts, " + std::to_string(lost_lines) + " lost cart lines";
}

json mode_results(int index, std::string const& mode, std::string const& description, int logouts, int lost_lines,
                  json served_by) {
  bool const ok = logouts == 0 && lost_lines == 0;
  return {
      {"mode", mode},
      {"description", description},
      {"verdict",
       {{"ok", ok}, {"text", ok ? "lost nothing" : verdict_text(logouts, lost_lines)}}},
      {"invariants",
       {{"unexpected_logouts", logouts},
        {"lost_cart_lines", lost_lines},
        {"duplicated_cart_lines", mode == "stateful" ? 3 : 0},
        {"duplicate_orders", 0},
        {"lost_orders", mode == "stateful" ? 2 : 0},
        {"upload_mismatches", 0},
        {"failed_retryable", mode == "stateless" ? 0 : 11}}},
      {"failures", {{"connect", 212}, {"server_5xx", 37 + index}, {"timeout", 4}, {"total", 253 + index}}},
      {"journeys", {{"completed", 4120 - 100 * index}, {"abandoned", mode == "stateless" ? 0 : 23}}},
      {"requests", {{"total", 35612 - 200 * index}, {"retries", 248}, {"per_second", 1780.6 - 10 * index}}},
      {"latency_ms", {{"p50", 3.1 + index}, {"p99", 61.4 + 5 * index}, {"max", 1502.0}}},
      {"served_by", std::move(served_by)},
      {"timeline", timeline_for(index, mode)},
      {"faults", json::array({{{"t_ms", 5000}, {"kind", "kill"}, {"detail", "kill -9 s2 (pid 41233)"}},
                              {{"t_ms", 11000}, {"kind", "rolling-deploy"}, {"detail", "s1, s2, s3 one at a time"}}})},
  };
}

json realistic_results() {
  return {
      {"outboard_lab", 1},
      {"started_at", "2026-11-23T10:00:00Z"},
      {"scenario", {{"name", "crash-and-deploy"}, {"description", "kill -9 one server at 5 s, rolling deploy at 11 s"}}},
      {"settings",
       {{"servers", 3}, {"users", 200}, {"duration_s", 20}, {"store", "sqlite"}, {"seed", 1}, {"arrival", "closed"},
        {"rate_per_s", 0}}},
      {"modes", json::array({
                    mode_results(0, "stateful", "sessions and carts in server memory, round robin", 143, 57,
                                 {{"s1", 12011}, {"s2", 9870}, {"s3", 12020}, {"s4", 1711}}),
                    mode_results(1, "sticky", "sessions in server memory, cookie-sticky routing", 61, 20,
                                 {{"s1", 16022}, {"s2", 5121}, {"s3", 12950}, {"s4", 1319}}),
                    mode_results(2, "stateless", "sessions and data in the shared store, round robin", 0, 0,
                                 {{"s1", 11650}, {"s2", 11720}, {"s3", 11610}, {"s4", 232}}),
                })},
  };
}

// ---- running Chromium -----------------------------------------------------------------------------

struct BrowserRun {
  int exit_code = -1;
  bool timed_out = false;
  std::string dom;     // stdout: the --dump-dom output (and a "bytes written" line)
  std::string log;     // stderr: Chromium's own log, console messages included
  fs::path screenshot;
};

std::string read_file(fs::path const& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// One headless Chromium on PAGE with a fresh profile in WORK. It gets its own process group so
// the hard timeout (and the cleanup after a normal exit) reaches its zygote and renderers too.
BrowserRun run_chromium(fs::path const& work, fs::path const& page) {
  static int run_number = 0;
  int const n = ++run_number;
  fs::path const profile = work / ("profile-" + std::to_string(n));
  fs::create_directories(profile);
  BrowserRun run;
  run.screenshot = work / ("shot-" + std::to_string(n) + ".png");
  fs::path const out_path = work / ("chromium-" + std::to_string(n) + ".out");
  fs::path const err_path = work / ("chromium-" + std::to_string(n) + ".err");

  std::vector<std::string> argv = {
      kChromium,
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--user-data-dir=" + profile.string(),
      "--enable-logging=stderr",
      "--v=0",
      // Virtual time: the page's script has run to completion before the dump and the shot.
      "--virtual-time-budget=5000",
      "--window-size=1280,3200",
      "--screenshot=" + run.screenshot.string(),
      "--dump-dom",
      "file://" + page.string(),
  };

  // HOME and the XDG dirs point into WORK too: Chromium writes crash-report and GTK state there
  // even with --user-data-dir, and a test leaves nothing outside its temp dir.
  std::vector<std::string> env = {"HOME=" + work.string(), "XDG_CONFIG_HOME=" + (work / "config").string(),
                                  "XDG_CACHE_HOME=" + (work / "cache").string()};
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view const entry(*e);
    if (!entry.starts_with("HOME=") && !entry.starts_with("XDG_CONFIG_HOME=") && !entry.starts_with("XDG_CACHE_HOME=")) {
      env.emplace_back(entry);
    }
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  pid_t const parent = getpid();
  pid_t const pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed test runner leaves no browser behind
    if (getppid() != parent) _exit(127);
    int const in = open("/dev/null", O_RDONLY);
    int const out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int const err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also here, so the group exists before we might signal it

  auto const deadline = std::chrono::steady_clock::now() + kHardTimeout;
  int status = 0;
  for (;;) {
    pid_t const r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      run.timed_out = true;
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(-pid, SIGKILL);  // whatever of the browser's group outlived it
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.dom = read_file(out_path);
  run.log = read_file(err_path);
  return run;
}

// Every console line and every uncaught error in Chromium's log (see the comment at the top).
std::vector<std::string> console_problems(std::string const& log) {
  std::vector<std::string> problems;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(":CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos) {
      problems.push_back(line);
    }
  }
  return problems;
}

std::string joined(std::vector<std::string> const& lines) {
  std::string all;
  for (auto const& line : lines) all += line + "\n";
  return all;
}

// The text inside <pre id="render-error">, or "<missing>" when the element is not in the DOM.
std::string render_error_text(std::string const& dom) {
  auto const start = dom.find("<pre id=\"render-error\"");
  if (start == std::string::npos) return "<missing>";
  auto const open_end = dom.find('>', start);
  auto const close = dom.find("</pre>", open_end);
  if (open_end == std::string::npos || close == std::string::npos) return "<missing>";
  return dom.substr(open_end + 1, close - open_end - 1);
}

struct PngInfo {
  bool valid = false;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::uintmax_t bytes = 0;
};

// Signature and IHDR only; the pixels are judged by size (see screenshot_looks_drawn).
PngInfo png_info(fs::path const& path) {
  PngInfo info;
  std::string const data = read_file(path);
  static constexpr std::array<unsigned char, 8> kSignature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (data.size() < 24 || data.compare(12, 4, "IHDR") != 0) return info;
  for (std::size_t i = 0; i < kSignature.size(); ++i) {
    if (static_cast<unsigned char>(data[i]) != kSignature[i]) return info;
  }
  auto be32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(data[at + i]);
    return v;
  };
  info.valid = true;
  info.width = be32(16);
  info.height = be32(20);
  info.bytes = data.size();
  return info;
}

// Without a PNG decoder (zlib is not linked into the tests), pixels are judged by how well they
// compress, against controls shot with the same flags and window:
// - a single-colour page compresses to a few KB; the report must be several times that;
// - the same report with its chart script removed (what a reader with JavaScript off sees) is the
//   report minus the charts; the charts must add a clear margin on top of it (measured: about
//   +45% for three modes, so +15% leaves room for font and layout changes).
constexpr std::uintmax_t kNotBlankOverBlank = 4;
constexpr std::uintmax_t kChartsPercentOverNoCharts = 115;

bool not_blank(PngInfo const& shot, PngInfo const& blank) {
  return shot.valid && blank.valid && shot.bytes >= kNotBlankOverBlank * blank.bytes;
}

bool charts_painted(PngInfo const& shot, PngInfo const& without_charts) {
  return shot.valid && without_charts.valid && shot.bytes * 100 >= kChartsPercentOverNoCharts * without_charts.bytes;
}

// The page with the body of its last <script> (the chart script) replaced by REPLACEMENT.
std::string with_chart_script(std::string page, std::string const& replacement) {
  auto const open = page.rfind("<script>");
  auto const close = page.find("</script>", open);
  if (open == std::string::npos || close == std::string::npos) throw std::runtime_error("no chart script");
  page.replace(open + 8, close - open - 8, replacement);
  return page;
}

void require_chromium() {
  ASSERT_TRUE(fs::exists(kChromium)) << kChromium
                                     << " is missing: run scripts/setup.sh (it installs Debian's chromium, which "
                                        "this test needs to render the lab's HTML report)";
}

fs::path write_page(fs::path const& dir, std::string const& name, std::string const& html) {
  fs::path const path = dir / name;
  std::ofstream(path, std::ios::binary) << html;
  return path;
}

std::string blank_page() { return "<!DOCTYPE html><html><head><title>blank</title></head><body></body></html>\n"; }

PngInfo shot_of(BrowserRun const& run) {
  EXPECT_EQ(run.exit_code, 0) << run.log;
  PngInfo const info = png_info(run.screenshot);
  EXPECT_TRUE(info.valid) << run.screenshot << " is not a PNG";
  return info;
}

// ---- the tests ------------------------------------------------------------------------------------

TEST(HtmlReportChromium, RendersEveryChartWithoutErrors) {
  require_chromium();
  outboard::testing::TempDir tmp;
  json const results = realistic_results();
  fs::path const report = write_html_report(tmp.path() / "reports", results);

  BrowserRun const run = run_chromium(tmp.path(), report);
  ASSERT_FALSE(run.timed_out) << "chromium still running after the hard timeout\n" << run.log;
  EXPECT_EQ(run.exit_code, 0) << run.log;
  EXPECT_TRUE(console_problems(run.log).empty()) << joined(console_problems(run.log));

  auto const charts = kChartsPerMode * results["modes"].size();
  EXPECT_NE(run.dom.find("data-rendered=\"" + std::to_string(charts) + "\""), std::string::npos)
      << "expected body data-rendered=\"" << charts << "\"; the DOM:\n"
      << run.dom.substr(0, 4000);
  EXPECT_EQ(render_error_text(run.dom), "");
  EXPECT_NE(run.dom.find("<pre id=\"render-error\" hidden=\"\"></pre>"), std::string::npos);

  PngInfo const shot = shot_of(run);
  ASSERT_TRUE(shot.valid) << run.dom.substr(0, 500);
  EXPECT_EQ(shot.width, 1280u);
  EXPECT_EQ(shot.height, 3200u);
  PngInfo const blank = shot_of(run_chromium(tmp.path(), write_page(tmp.path(), "blank.html", blank_page())));
  EXPECT_TRUE(not_blank(shot, blank)) << "report " << shot.bytes << " bytes, blank page " << blank.bytes << " bytes";
  PngInfo const no_charts = shot_of(run_chromium(
      tmp.path(), write_page(tmp.path(), "no-charts.html", with_chart_script(read_file(report), ""))));
  EXPECT_TRUE(charts_painted(shot, no_charts))
      << "report " << shot.bytes << " bytes, the same without its chart script " << no_charts.bytes << " bytes";
}

TEST(HtmlReportChromium, ReportWithoutModesRendersZeroCharts) {
  require_chromium();
  outboard::testing::TempDir tmp;
  json results = realistic_results();
  results["modes"] = json::array();
  BrowserRun const run = run_chromium(tmp.path(), write_html_report(tmp.path(), results));
  EXPECT_EQ(run.exit_code, 0) << run.log;
  EXPECT_TRUE(console_problems(run.log).empty()) << joined(console_problems(run.log));
  EXPECT_NE(run.dom.find("data-rendered=\"0\""), std::string::npos) << run.dom.substr(0, 4000);
  EXPECT_EQ(render_error_text(run.dom), "");
}

// The open tag of every <canvas> in the DOM Chromium dumped.
std::vector<std::string> canvas_tags(std::string const& dom) {
  std::vector<std::string> tags;
  for (auto at = dom.find("<canvas "); at != std::string::npos; at = dom.find("<canvas ", at + 1)) {
    tags.push_back(dom.substr(at, dom.find('>', at) - at + 1));
  }
  return tags;
}

// An attribute's value in an open tag, or "" (values here hold no quotes or entities).
std::string attribute(std::string const& tag, std::string const& name) {
  auto const at = tag.find(" " + name + "=\"");
  if (at == std::string::npos) return "";
  auto const begin = at + name.size() + 3;
  return tag.substr(begin, tag.find('"', begin) - begin);
}

// The page's own glossary, as laid out by a browser: the script appended to a copy of the page
// records its height and its visible terms after the report's script has run.
TEST(HtmlReportChromium, GlossaryIsRenderedAndChartsShareAxesAndKeepLabelsApart) {
  require_chromium();
  outboard::testing::TempDir tmp;
  json results = realistic_results();
  // One design at a quarter of the others' throughput and a tenth of their latency: with an axis
  // per chart its bars would fill the chart like theirs.
  for (auto& second : results["modes"][2]["timeline"]) {
    second["requests"] = second["requests"].get<double>() / 4;
    second["p99_ms"] = second["p99_ms"].get<double>() / 10;
  }
  // Three faults 50 ms apart: their labels would sit on top of each other in one row.
  results["modes"][0]["faults"] = json::array({{{"t_ms", 5000}, {"kind", "kill"}, {"detail", "s1"}},
                                               {{"t_ms", 5050}, {"kind", "kill"}, {"detail", "s2"}},
                                               {{"t_ms", 5100}, {"kind", "hang"}, {"detail", "s3"}}});
  std::string page = read_file(write_html_report(tmp.path(), results));
  std::string const probe =
      "<script>const g = document.getElementById('glossary');"
      "document.body.dataset.glossaryHeight = String(Math.round(g.getBoundingClientRect().height));"
      "document.body.dataset.glossaryTerms = String([...g.querySelectorAll('dt')]"
      ".filter((d) => d.getBoundingClientRect().height > 0 && d.textContent.length > 0).length);</script>";
  page.insert(page.rfind("</body>"), probe);
  BrowserRun const run = run_chromium(tmp.path(), write_page(tmp.path(), "probed.html", page));
  ASSERT_EQ(run.exit_code, 0) << run.log;
  EXPECT_TRUE(console_problems(run.log).empty()) << joined(console_problems(run.log));

  auto const body_at = run.dom.find("<body");
  ASSERT_NE(body_at, std::string::npos);
  std::string const body = run.dom.substr(body_at, run.dom.find('>', body_at) - body_at + 1);
  EXPECT_EQ(attribute(body, "data-glossary-terms"), "12") << body;
  EXPECT_GE(std::atoi(attribute(body, "data-glossary-height").c_str()), 100) << body;
  EXPECT_NE(run.dom.find("<dt>unexpected logouts</dt>"), std::string::npos);

  std::map<std::string, std::set<std::string>> y_tops;  // chart kind -> the axis tops it was drawn with
  int stacked = 0;
  for (std::string const& tag : canvas_tags(run.dom)) {
    y_tops[attribute(tag, "data-chart")].insert(attribute(tag, "data-y-top"));
    json const labels = json::parse(attribute(tag, "data-fault-labels"));
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (labels[i][2] != 0) ++stacked;
      for (std::size_t j = 0; j < i; ++j) {
        bool const same_row = labels[i][2] == labels[j][2];
        bool const overlap = labels[i][0].get<double>() < labels[j][1].get<double>() &&
                             labels[j][0].get<double>() < labels[i][1].get<double>();
        EXPECT_FALSE(same_row && overlap) << "labels " << j << " and " << i << " overlap: " << labels.dump();
      }
    }
  }
  ASSERT_EQ(y_tops.size(), 3u);
  for (auto const& [kind, tops] : y_tops) {
    EXPECT_EQ(tops.size(), 1u) << kind << " charts drawn with different y-axes";
    EXPECT_FALSE(tops.begin()->empty()) << kind;
  }
  EXPECT_EQ(*y_tops["throughput"].begin(), "2000");
  EXPECT_GT(stacked, 0) << "the close labels were not moved to a second row";
}

// The checks above are only worth something if they can fail: these feed them broken pages.

TEST(HtmlReportChromium, ChecksCatchAReportWhoseScriptThrows) {
  require_chromium();
  outboard::testing::TempDir tmp;
  std::string page = render_html_report(realistic_results());
  std::string const open = "<script type=\"application/json\" id=\"results\">";
  auto const at = page.find(open);
  ASSERT_NE(at, std::string::npos);
  page.insert(at + open.size(), "not json ");  // JSON.parse throws
  BrowserRun const run = run_chromium(tmp.path(), write_page(tmp.path(), "broken.html", page));

  EXPECT_EQ(run.dom.find("data-rendered="), std::string::npos);
  EXPECT_NE(render_error_text(run.dom).find("The charts could not be drawn"), std::string::npos) << run.dom;
  auto const problems = console_problems(run.log);
  ASSERT_FALSE(problems.empty()) << run.log;
  EXPECT_NE(joined(problems).find("Uncaught"), std::string::npos) << joined(problems);
}

TEST(HtmlReportChromium, ChecksCatchConsoleErrorsAndUncaughtExceptions) {
  require_chromium();
  outboard::testing::TempDir tmp;
  BrowserRun const logged = run_chromium(
      tmp.path(), write_page(tmp.path(), "error.html", "<!DOCTYPE html><body><script>console.error('boom-e')</script>"));
  EXPECT_NE(joined(console_problems(logged.log)).find("boom-e"), std::string::npos) << logged.log;

  BrowserRun const thrown = run_chromium(
      tmp.path(), write_page(tmp.path(), "throw.html", "<!DOCTYPE html><body><script>throw new Error('boom-t')</script>"));
  std::string const problems = joined(console_problems(thrown.log));
  EXPECT_NE(problems.find("Uncaught"), std::string::npos) << thrown.log;
  EXPECT_NE(problems.find("boom-t"), std::string::npos) << thrown.log;

  BrowserRun const rejected = run_chromium(
      tmp.path(),
      write_page(tmp.path(), "reject.html", "<!DOCTYPE html><body><script>Promise.reject(new Error('boom-p'))</script>"));
  EXPECT_NE(joined(console_problems(rejected.log)).find("boom-p"), std::string::npos) << rejected.log;
}

TEST(HtmlReportChromium, ChecksCatchBlankPagesAndUndrawnCharts) {
  require_chromium();
  outboard::testing::TempDir tmp;
  // A script that only claims success: the DOM check alone would pass it, the screenshot must not.
  fs::path const report = write_html_report(tmp.path(), realistic_results());
  std::string const cheat = with_chart_script(read_file(report), "document.body.dataset.rendered = '9';");
  BrowserRun const cheat_run = run_chromium(tmp.path(), write_page(tmp.path(), "cheat.html", cheat));
  EXPECT_NE(cheat_run.dom.find("data-rendered=\"9\""), std::string::npos);
  PngInfo const cheat_shot = shot_of(cheat_run);
  PngInfo const no_charts = shot_of(run_chromium(
      tmp.path(), write_page(tmp.path(), "no-charts.html", with_chart_script(read_file(report), ""))));
  EXPECT_FALSE(charts_painted(cheat_shot, no_charts))
      << "cheat " << cheat_shot.bytes << " bytes, no charts " << no_charts.bytes << " bytes";

  PngInfo const blank = shot_of(run_chromium(tmp.path(), write_page(tmp.path(), "blank.html", blank_page())));
  PngInfo const marker_only = shot_of(run_chromium(
      tmp.path(),
      write_page(tmp.path(), "marker.html", "<!DOCTYPE html><body><script>document.body.dataset.rendered = '9'</script>")));
  EXPECT_FALSE(not_blank(marker_only, blank)) << "marker " << marker_only.bytes << " bytes, blank " << blank.bytes;
  EXPECT_FALSE(png_info(tmp.path() / "no-such.png").valid);
}

}  // namespace
}  // namespace outboard::lab
