#include "lab/html_report.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "lab/summary.hpp"
#include "support/temp_dir.hpp"

namespace outboard::lab {
namespace {

using nlohmann::json;

json mode(std::string name, bool ok, int logouts, int lost_lines) {
  return {
      {"mode", name},
      {"description", name + " description"},
      {"verdict", {{"ok", ok}, {"text", ok ? "lost nothing" : "lost things"}}},
      {"invariants",
       {{"unexpected_logouts", logouts},
        {"lost_cart_lines", lost_lines},
        {"duplicated_cart_lines", 0},
        {"duplicate_orders", 0},
        {"lost_orders", 0},
        {"upload_mismatches", 0},
        {"failed_retryable", 0}}},
      {"failures", {{"connect", 4}, {"server_5xx", 0}, {"timeout", 2}, {"total", 6}}},
      {"journeys", {{"completed", 1234}, {"abandoned", 0}}},
      {"requests", {{"total", 40000}, {"retries", 6}, {"per_second", 1999.96}}},
      {"latency_ms", {{"p50", 2.25}, {"p99", 48.04}, {"max", 312.0}}},
      {"served_by", {{"s1", 20000}, {"s2", 12000}, {"s3", 8000}}},
      {"timeline", json::array({{{"t", 0}, {"requests", 2000}, {"errors", 0}, {"logouts", 0}, {"p99_ms", 40.0}},
                                {{"t", 1}, {"requests", 1900}, {"errors", 6}, {"logouts", 3}, {"p99_ms", 300.0}}})},
      {"faults", json::array({{{"t_ms", 1000}, {"kind", "kill"}, {"detail", "kill -9 s2 (pid 1234)"}}})},
  };
}

json results() {
  return {
      {"outboard_lab", 1},
      {"started_at", "2026-11-23T10:00:00Z"},
      {"scenario", {{"name", "crash-and-deploy"}, {"description", "kill one server, then roll all"}}},
      {"settings",
       {{"servers", 3}, {"users", 200}, {"duration_s", 20}, {"store", "sqlite"}, {"seed", 1},
        {"arrival", "closed"}, {"rate_per_s", 0}}},
      {"modes", json::array({mode("stateful", false, 17, 5), mode("stateless", true, 0, 0)})},
  };
}

std::size_t count(std::string const& haystack, std::string const& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + needle.size())) ++n;
  return n;
}

// The text of <script type="application/json" id="results">, parsed back.
json embedded_results(std::string const& page) {
  std::string const open = "<script type=\"application/json\" id=\"results\">";
  auto const begin = page.find(open);
  EXPECT_NE(begin, std::string::npos);
  auto const end = page.find("</script>", begin);
  EXPECT_NE(end, std::string::npos);
  return json::parse(page.substr(begin + open.size(), end - begin - open.size()));
}

TEST(HtmlReport, HasTitleSettingsAndDescription) {
  std::string const page = render_html_report(results());
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("<title>outboard lab: crash-and-deploy</title>"), std::string::npos);
  EXPECT_NE(page.find("<h1>outboard lab: crash-and-deploy</h1>"), std::string::npos);
  EXPECT_NE(page.find("kill one server, then roll all"), std::string::npos);
  for (char const* part : {"3 servers", "200 users", "closed arrivals", "20 s", "store sqlite", "seed 1",
                           "started 2026-11-23T10:00:00Z"}) {
    EXPECT_NE(page.find(part), std::string::npos) << part;
  }
}

TEST(HtmlReport, OpenArrivalsShowTheirRate) {
  json doc = results();
  doc["settings"]["arrival"] = "open";
  doc["settings"]["rate_per_s"] = 150;
  EXPECT_NE(render_html_report(doc).find("open arrivals at 150.0/s"), std::string::npos);
}

TEST(HtmlReport, TableHasOneColumnPerModeWithColouredCells) {
  std::string const page = render_html_report(results());
  EXPECT_NE(page.find("stateful<br><span class=\"badge fail\">FAIL</span></th>"), std::string::npos);
  EXPECT_NE(page.find("stateless<br><span class=\"badge pass\">PASS</span></th>"), std::string::npos);
  // Losses: red when non-zero, green when zero.
  EXPECT_NE(page.find("\"><th scope=\"row\">unexpected logouts</th><td class=\"loss\">17</td>"
                      "<td class=\"zero\">0</td></tr>"),
            std::string::npos);
  EXPECT_NE(page.find("\"><th scope=\"row\">lost cart lines</th><td class=\"loss\">5</td>"
                      "<td class=\"zero\">0</td></tr>"),
            std::string::npos);
  EXPECT_NE(page.find("\"><th scope=\"row\">uploads read back wrong</th><td class=\"zero\">0</td>"
                      "<td class=\"zero\">0</td></tr>"),
            std::string::npos);
  // Failed attempts: amber, a retry may have saved them.
  EXPECT_NE(page.find("\"><th scope=\"row\">connect</th><td class=\"warn\">4</td><td class=\"warn\">4</td></tr>"),
            std::string::npos);
  EXPECT_NE(page.find("\"><th scope=\"row\">5xx</th><td class=\"zero\">0</td><td class=\"zero\">0</td></tr>"),
            std::string::npos);
  // Volume: plain numbers.
  EXPECT_NE(page.find("\"><th scope=\"row\">requests</th><td>40000</td><td>40000</td></tr>"), std::string::npos);
  EXPECT_NE(page.find("\"><th scope=\"row\">requests/s</th><td>2000.0</td><td>2000.0</td></tr>"),
            std::string::npos);
  EXPECT_NE(page.find("\"><th scope=\"row\">p99 latency (ms)</th><td>48.0</td><td>48.0</td></tr>"),
            std::string::npos);
  EXPECT_NE(page.find("\"><th scope=\"row\">journeys completed</th><td>1234</td><td>1234</td></tr>"),
            std::string::npos);
}

TEST(HtmlReport, VerdictsAndServedByAndFaultsAreInTheHtml) {
  std::string const page = render_html_report(results());
  EXPECT_NE(page.find("<span class=\"badge fail\">FAIL</span> <b>stateful</b> lost things"), std::string::npos);
  EXPECT_NE(page.find("<span class=\"badge pass\">PASS</span> <b>stateless</b> lost nothing"), std::string::npos);
  EXPECT_NE(page.find("s1 20000 (50.0%)"), std::string::npos);
  EXPECT_NE(page.find("s3 8000 (20.0%)"), std::string::npos);
  EXPECT_NE(page.find("<ol class=\"faults\"><li><b>1.0 s</b> kill <span class=\"muted\">kill -9 s2 (pid 1234)</span></li></ol>"),
            std::string::npos);
}

TEST(HtmlReport, ThreeChartsPerModeAndTheScriptThatDrawsThem) {
  std::string const page = render_html_report(results());
  EXPECT_EQ(count(page, "<canvas "), 6u);
  EXPECT_EQ(count(page, "data-chart=\"throughput\""), 2u);
  EXPECT_EQ(count(page, "data-chart=\"errors\""), 2u);
  EXPECT_EQ(count(page, "data-chart=\"latency\""), 2u);
  EXPECT_NE(page.find("<pre id=\"render-error\" hidden></pre>"), std::string::npos);
  EXPECT_NE(page.find("document.body.dataset.rendered"), std::string::npos);
}

// The invariants explained on the page itself, from the same rows the table and verdict use.
TEST(HtmlReport, GlossaryExplainsEveryInvariant) {
  std::string const page = render_html_report(results());
  auto const glossary = page.find("<section id=\"glossary\"><h2>What the invariants mean</h2>");
  ASSERT_NE(glossary, std::string::npos);
  std::size_t losses = 0;
  for (TableSection const& group : table_sections()) {
    if (!group.used_when_present.empty()) continue;  // the jobs sections: these results ran no jobs
    for (TableRow const& row : group.rows) {
      if (row.kind != RowKind::loss) continue;
      ++losses;
      EXPECT_GT(row.meaning.size(), 20u) << row.label;
      EXPECT_NE(page.find(fmt::format("<dt>{}</dt><dd>{}</dd>", row.label, row.meaning), glossary), std::string::npos)
          << row.label;
    }
  }
  EXPECT_EQ(losses, 12u);
  EXPECT_EQ(count(page, "<dt>"), losses);
  // Not for a run with nothing to explain.
  json empty = results();
  empty["modes"] = json::array();
  EXPECT_EQ(render_html_report(empty).find("id=\"glossary\""), std::string::npos);
}

TEST(HtmlReport, EveryTableRowHasItsMeaningAsATooltip) {
  std::string const page = render_html_report(results());
  std::size_t rows = 0;
  for (TableSection const& group : table_sections()) {
    if (group.only_when_used) continue;  // the chat section: these results have no chat
    for (TableRow const& row : group.rows) {
      ++rows;
      EXPECT_FALSE(row.meaning.empty()) << row.label;
    }
  }
  EXPECT_EQ(count(page, "<tr title=\""), rows);
  EXPECT_EQ(page.find("title=\"\""), std::string::npos);
  EXPECT_NE(page.find("<tr title=\"a logged-in user was answered 401: the session was lost while the user did "
                      "nothing to end it\"><th scope=\"row\">unexpected logouts</th>"),
            std::string::npos);
  // Escaped like any text: an apostrophe in a meaning cannot end the attribute.
  EXPECT_NE(page.find("<tr title=\"answered requests over the run&#39;s length\"><th scope=\"row\">requests/s</th>"),
            std::string::npos);
}

TEST(HtmlReport, FaultsAreNumberedInTimeOrder) {
  json doc = results();
  doc["modes"][0]["faults"] = json::array({{{"t_ms", 9000}, {"kind", "deploy"}, {"detail", "later"}},
                                           {{"t_ms", 4000}, {"kind", "kill"}, {"detail", "first"}},
                                           {{"t_ms", 4000}, {"kind", "restart"}, {"detail", "same time, listed after"}}});
  std::string const page = render_html_report(doc);
  auto const first = page.find("<ol class=\"faults\"><li><b>4.0 s</b> kill <span class=\"muted\">first</span></li>"
                               "<li><b>4.0 s</b> restart");
  EXPECT_NE(first, std::string::npos);
  EXPECT_NE(page.find("<li><b>9.0 s</b> deploy <span class=\"muted\">later</span></li></ol>", first), std::string::npos);
  // The script numbers its chart labels in the same order (a stable sort on the same key).
  EXPECT_NE(page.find("sort((a, b) => num(a.t_ms) - num(b.t_ms))"), std::string::npos);
}

TEST(HtmlReport, EmbedsTheResultsUnchanged) {
  json const doc = results();
  EXPECT_EQ(embedded_results(render_html_report(doc)), doc);
}

TEST(HtmlReport, EscapesHostileText) {
  std::string const hostile = "</script><script>alert(1)</script>";
  std::string const tags = "<b>&\"'";
  json doc = results();
  doc["scenario"]["name"] = hostile;
  doc["scenario"]["description"] = tags;
  doc["modes"][0]["mode"] = hostile;
  doc["modes"][0]["description"] = tags;
  doc["modes"][0]["verdict"]["text"] = tags;
  doc["modes"][0]["served_by"] = {{hostile, 3}, {tags, 1}};
  doc["modes"][0]["faults"][0]["kind"] = hostile;
  doc["modes"][0]["faults"][0]["detail"] = "<!--<script>";
  doc["started_at"] = tags;
  std::string const page = render_html_report(doc);

  // Only the page's own two scripts open and close.
  EXPECT_EQ(count(page, "<script"), 2u);
  EXPECT_EQ(count(page, "</script"), 2u);
  EXPECT_EQ(page.find("alert(1)</"), std::string::npos);
  EXPECT_EQ(page.find(tags), std::string::npos);
  EXPECT_EQ(page.find("<!--"), std::string::npos);
  EXPECT_NE(page.find("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("&lt;b&gt;&amp;&quot;&#39;"), std::string::npos);
  // The embedded copy still holds the exact strings.
  EXPECT_EQ(embedded_results(page), doc);
}

TEST(HtmlReport, HasNoExternalReferences) {
  std::string const page = render_html_report(results());
  for (char const* bad : {"http://", "https://", "src=\"http", "href=\"http", "src=", "href=", "<link", "@import",
                          "url(", "<img", "<iframe", "//cdn"}) {
    EXPECT_EQ(page.find(bad), std::string::npos) << bad;
  }
}

TEST(HtmlReport, EmptyModesList) {
  json doc = results();
  doc["modes"] = json::array();
  std::string const page = render_html_report(doc);
  EXPECT_NE(page.find("no modes"), std::string::npos);
  EXPECT_EQ(count(page, "<canvas "), 0u);
  EXPECT_EQ(page.find("<table"), std::string::npos);
  EXPECT_NE(page.find("</html>"), std::string::npos);
}

TEST(HtmlReport, MissingAndMistypedFieldsUseDefaults) {
  for (json const& doc : {json::object(), json(nullptr), json::array(), json{{"modes", "not a list"}},
                          json{{"modes", json::array({json::object()})}},
                          json{{"scenario", 7},
                               {"settings", "x"},
                               {"modes", json::array({json{{"mode", 3},
                                                           {"verdict", nullptr},
                                                           {"invariants", json::array()},
                                                           {"requests", {{"total", "many"}}},
                                                           {"served_by", {{"s1", "x"}, {"s2", -4}}},
                                                           {"timeline", json::object()},
                                                           {"faults", json::array({1, "x", nullptr})}}})}}}) {
    std::string page;
    ASSERT_NO_THROW(page = render_html_report(doc)) << doc.dump();
    EXPECT_NE(page.find("<title>outboard lab: unnamed scenario</title>"), std::string::npos) << doc.dump();
    EXPECT_NE(page.find("</html>"), std::string::npos);
  }
  std::string const page = render_html_report(json{{"modes", json::array({json::object()})}});
  EXPECT_NE(page.find("mode 1<br><span class=\"badge fail\">FAIL</span>"), std::string::npos);
  EXPECT_NE(page.find("\"><th scope=\"row\">lost orders</th><td class=\"zero\">0</td></tr>"), std::string::npos);
  EXPECT_NE(page.find("no responses recorded"), std::string::npos);
  EXPECT_NE(page.find("no faults injected"), std::string::npos);
  EXPECT_EQ(count(page, "<canvas "), 3u);
}

TEST(HtmlReport, ModeWithZeroRequestsHasNoNanOrInfinity) {
  json doc = results();
  json& m = doc["modes"][1];
  m["requests"] = {{"total", 0}, {"retries", 0}, {"per_second", 0.0}};
  m["served_by"] = {{"s1", 0}, {"s2", 0}};
  m["latency_ms"] = {{"p50", 0}, {"p99", 0}, {"max", 0}};
  m["timeline"] = json::array();
  doc["modes"][0]["latency_ms"]["p99"] = std::numeric_limits<double>::quiet_NaN();
  std::string const page = render_html_report(doc);
  EXPECT_NE(page.find("no responses recorded"), std::string::npos);
  for (char const* bad : {"nan", "NaN", "inf"}) {
    // "inf" must not appear as a number; the word "info" is not in the page either.
    EXPECT_EQ(page.find(std::string(">") + bad), std::string::npos) << bad;
  }
}

TEST(HtmlReport, InvalidUtf8IsReplacedNotThrown) {
  json doc = results();
  doc["scenario"]["name"] = std::string("bad \xff\xfe bytes");
  EXPECT_NO_THROW(render_html_report(doc));
}

TEST(HtmlReportFile, WritesNamedFileCreatingTheDirectory) {
  outboard::testing::TempDir tmp;
  auto const dir = tmp.path() / "reports" / "nested";
  json const doc = results();
  auto const path = write_html_report(dir, doc);
  EXPECT_EQ(path, dir / "2026-11-23T10-00-00Z-crash-and-deploy.html");
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), render_html_report(doc));
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".partial"));
}

TEST(HtmlReportFile, SanitizesTheFileName) {
  outboard::testing::TempDir tmp;
  json doc = results();
  doc["scenario"]["name"] = "../../etc/pass wd";
  doc["started_at"] = "2026-11-23T10:00:00+01:00";
  auto const path = write_html_report(tmp.path(), doc);
  EXPECT_EQ(path.parent_path(), tmp.path());
  EXPECT_EQ(path.filename().string(), "2026-11-23T10-00-00_01-00-.._.._etc_pass_wd.html");
  EXPECT_TRUE(std::filesystem::is_regular_file(path));

  doc.erase("started_at");
  doc["scenario"].erase("name");
  EXPECT_EQ(write_html_report(tmp.path(), doc).filename().string(), "undated-unnamed.html");
}

TEST(HtmlReportFile, ThrowsNamingThePathWhenItCannotWrite) {
  outboard::testing::TempDir tmp;
  auto const file = tmp.path() / "plain-file";
  std::ofstream(file) << "x";
  // A directory under a regular file cannot exist, even for root.
  auto const dir = file / "reports";
  try {
    write_html_report(dir, results());
    FAIL() << "expected std::runtime_error";
  } catch (std::runtime_error const& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "2026-11-23T10-00-00Z-crash-and-deploy.html").string()),
              std::string::npos)
        << e.what();
  }
  // The target itself being a directory fails at the rename.
  auto const taken = tmp.path() / "2026-11-23T10-00-00Z-crash-and-deploy.html";
  std::filesystem::create_directory(taken);
  std::filesystem::create_directory(taken / "keep");
  EXPECT_THROW(write_html_report(tmp.path(), results()), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(taken.string() + ".partial"));
}

}  // namespace
}  // namespace outboard::lab
