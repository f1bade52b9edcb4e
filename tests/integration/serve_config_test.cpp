// `outboard` start-up as an operator meets it: --version and --help, and configuration mistakes
// (TOML file, OUTBOARD_* environment, flags) that must stop the process with a message naming
// where the bad value came from. Each run is bounded: a process that starts serving instead of
// failing is killed and the test fails.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "integration/http_expectations.hpp"
#include "support/free_port.hpp"
#include "support/http_client.hpp"
#include "support/serve_process.hpp"
#include "support/temp_dir.hpp"
#include "support/text_file.hpp"

namespace outboard::testing {
namespace {

// `outboard serve` with the given extra arguments; memory state and a free port so that a run
// that wrongly succeeds touches nothing and binds nothing shared.
CommandResult serve_with(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  std::vector<std::string> argv{"serve", "--state", "memory://", "--port", std::to_string(free_port())};
  for (auto& a : args) argv.push_back(std::move(a));
  return run_outboard(std::move(argv), std::move(env));
}

void expect_config_error(CommandResult const& r, std::vector<std::string> const& mentions) {
  ASSERT_TRUE(r.exit_code.has_value()) << "the process did not exit in time; output:\n" << r.output;
  EXPECT_NE(*r.exit_code, 0) << r.output;
  for (auto const& m : mentions) {
    EXPECT_NE(r.output.find(m), std::string::npos) << "the message does not mention '" << m << "':\n" << r.output;
  }
}

// --check validates as a start would, then prints instead of serving; the port is busy, so a run
// that tried to bind would exit 1, and one that served would be killed with no exit code.
TEST(ServeConfig, CheckPrintsEachSettingWithItsSourceAndBindsNothing) {
  TempDir dir;
  auto file = write_file(dir, "serve.toml", "[server]\n\nthreads = 2\n");
  ServeOptions o;
  o.name = "holder";
  ServeProcess holder(o);
  std::string key(64, 'a');
  auto r = run_outboard({"serve", "--check", "--config", file, "--state", "memory://", "--port",
                         std::to_string(holder.port())},
                        {{"OUTBOARD_SERVE_SERVER_INSTANCE", "shop-9"},
                         {"OUTBOARD_SERVE_SESSIONS_KEYS", key},
                         {"OUTBOARD_GATEWAY_LISTEN", "0.0.0.0:80"}});
  ASSERT_EQ(r.exit_code, std::optional<int>(0)) << r.output;
  for (std::string m : {std::string("server.threads = 2"), "# " + file + ":3", std::string("server.instance = \"shop-9\""),
                        std::string("# environment OUTBOARD_SERVE_SERVER_INSTANCE"), std::string("# flag --state"),
                        std::string("# default"), std::string("sessions.keys = <set, hidden>")}) {
    EXPECT_NE(r.output.find(m), std::string::npos) << m << " missing:\n" << r.output;
  }
  EXPECT_EQ(r.output.find(key), std::string::npos) << "a secret was printed:\n" << r.output;
}

TEST(ServeConfig, CheckReportsABadKeyWithFileAndLineAndExits2) {
  TempDir dir;
  auto file = write_file(dir, "serve.toml", "[server]\nthreads = 1\n\ncolour = \"blue\"\n");
  auto r = run_outboard({"serve", "--check", "--config", file, "--state", "memory://"});
  ASSERT_EQ(r.exit_code, std::optional<int>(2)) << r.output;
  EXPECT_NE(r.output.find(file + ":4: key 'server.colour': unknown key"), std::string::npos) << r.output;
}

TEST(ServeConfig, AnOldVariableNameIsRefusedNamingTheNewOne) {
  expect_config_error(serve_with({}, {{"OUTBOARD_SERVER_PORT", "8080"}}),
                      {"OUTBOARD_SERVER_PORT: renamed; use OUTBOARD_SERVE_SERVER_PORT"});
}

TEST(ServeConfig, VersionPrintsTheVersionAndExits0) {
  auto r = run_outboard({"--version"});
  ASSERT_EQ(r.exit_code, std::optional<int>(0)) << r.output;
  EXPECT_EQ(r.output, std::string("outboard ") + OUTBOARD_VERSION + "\n");
}

TEST(ServeConfig, ServeHelpExits0AndListsTheSettings) {
  auto r = run_outboard({"serve", "--help"});
  ASSERT_EQ(r.exit_code, std::optional<int>(0)) << r.output;
  for (char const* m : {"--state", "--port", "--instance", "--session-keys", "--drain-timeout-ms", "--config",
                        "OUTBOARD_SERVE_STATE_URL"}) {
    EXPECT_NE(r.output.find(m), std::string::npos) << "help does not mention " << m << ":\n" << r.output;
  }
}

TEST(ServeConfig, NoSubcommandIsAnError) {
  auto r = run_outboard({});
  ASSERT_TRUE(r.exit_code.has_value());
  EXPECT_NE(*r.exit_code, 0) << r.output;
}

TEST(ServeConfig, UnknownTomlKeyNamesFileLineAndKey) {
  TempDir dir;
  auto file = write_file(dir, "serve.toml",
                         "# outboard serve\n"
                         "[server]\n"
                         "threads = 1\n"
                         "\n"
                         "colour = \"blue\"\n");
  expect_config_error(serve_with({"--config", file}), {file + ":5:", "server.colour", "unknown key"});
}

TEST(ServeConfig, UnknownTomlTableNamesFileAndKey) {
  TempDir dir;
  auto file = write_file(dir, "serve.toml", "[sever]\nport = 8080\n");
  expect_config_error(serve_with({"--config", file}), {file + ":", "sever", "unknown key"});
}

TEST(ServeConfig, WrongTomlTypeNamesFileLineAndKey) {
  TempDir dir;
  auto file = write_file(dir, "serve.toml", "[server]\n\nport = \"abc\"\n");
  expect_config_error(serve_with({"--config", file}), {file + ":3:", "server.port", "integer"});
}

TEST(ServeConfig, OutOfRangeTomlValueNamesFileLineAndKey) {
  TempDir dir;
  auto file = write_file(dir, "serve.toml", "[server]\nport = 70000\n");
  expect_config_error(serve_with({"--config", file}), {file + ":2:", "server.port", "70000"});
}

TEST(ServeConfig, BadTomlStringValueNamesFileLineAndKey) {
  TempDir dir;
  auto file = write_file(dir, "serve.toml", "[auth]\nkdf = \"weakest\"\n");
  expect_config_error(serve_with({"--config", file}), {file + ":2:", "auth.kdf", "weakest"});
}

TEST(ServeConfig, TomlSyntaxErrorNamesFileAndLine) {
  TempDir dir;
  auto file = write_file(dir, "serve.toml", "[server]\nport = 80\n[state\nurl = \"memory://\"\n");
  expect_config_error(serve_with({"--config", file}), {file + ":3:"});
}

TEST(ServeConfig, MissingConfigFileIsNamed) {
  TempDir dir;
  auto file = (dir / "nope.toml").string();
  expect_config_error(serve_with({"--config", file}), {file});
}

TEST(ServeConfig, UnknownEnvironmentVariableIsRejected) {
  expect_config_error(serve_with({}, {{"OUTBOARD_SERVE_SERVER_PROT", "8080"}}), {"OUTBOARD_SERVE_SERVER_PROT"});
}

TEST(ServeConfig, BadEnvironmentValueNamesTheVariable) {
  expect_config_error(serve_with({}, {{"OUTBOARD_SERVE_SERVER_THREADS", "many"}}), {"OUTBOARD_SERVE_SERVER_THREADS", "many"});
}

TEST(ServeConfig, BadStateUrlIsRejected) {
  for (std::string url : {"ftp://x", "memory://junk", "file:///tmp/blobs", "redis://:0/0", "sqlite://", "nonsense"}) {
    SCOPED_TRACE(url);
    auto r = run_outboard({"serve", "--port", std::to_string(free_port()), "--state", url});
    expect_config_error(r, {"--state"});
  }
  auto r = run_outboard({"serve", "--port", std::to_string(free_port()), "--state", "ftp://x"});
  EXPECT_NE(r.output.find("ftp"), std::string::npos) << r.output;
}

TEST(ServeConfig, BadFlagValuesAreRejected) {
  expect_config_error(run_outboard({"serve", "--state", "memory://", "--port", "70000"}), {"--port", "70000"});
  expect_config_error(run_outboard({"serve", "--state", "memory://", "--port", "-1"}), {"--port"});
  expect_config_error(serve_with({"--threads", "x"}), {"--threads"});
  expect_config_error(serve_with({"--listen", "not-an-ip"}), {"--listen", "not-an-ip"});
  expect_config_error(serve_with({"--bogus-flag", "1"}), {"--bogus-flag"});
}

// Keys on argv are readable by every local user: refused, with the way to do it instead, and
// without repeating the key in the message.
TEST(ServeConfig, SessionKeysOnTheCommandLineAreRefused) {
  std::string key = make_session_key();
  auto r = serve_with({"--session-keys", key});
  expect_config_error(r, {"--session-keys", "--session-keys-file", "OUTBOARD_SERVE_SESSIONS_KEYS"});
  EXPECT_EQ(r.output.find(key), std::string::npos) << "the key was printed:\n" << r.output;
}

TEST(ServeConfig, SessionKeysFileOthersMayReadIsRefused) {
  TempDir dir;
  std::string key = make_session_key();
  auto file = write_file(dir, "keys", key + "\n");  // created with the umask's mode, 0644 here
  std::filesystem::permissions(file, std::filesystem::perms::others_read, std::filesystem::perm_options::add);
  auto r = serve_with({"--session-keys-file", file});
  expect_config_error(r, {file, "chmod 600"});
  EXPECT_EQ(r.output.find(key), std::string::npos) << r.output;
}

TEST(ServeConfig, SessionKeysFileWithABadLineNamesTheLine) {
  TempDir dir;
  auto file = write_file(dir, "keys", "# keys\n" + make_session_key() + "\nnot-a-key\n");
  std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  expect_config_error(serve_with({"--session-keys-file", file}), {file + ":3"});
}

// Later sources win: file < environment < flag. Observed through --max-body-bytes (a 413 or not).
TEST(ServeConfig, EnvironmentBeatsFileAndFlagBeatsEnvironment) {
  TempDir dir;
  auto file = write_file(dir, "serve.toml", "[server]\nmax_body_bytes = 100\n");
  std::string body = R"({"user":"ada","password":")" + std::string(200, 'x') + R"("})";  // ~230 bytes

  {
    ServeOptions o;
    o.name = "file";
    o.extra_args = {"--config", file};
    ServeProcess serve(o);
    HttpClient c(serve.port());
    expect_json_error(c.post("/signup", body), 413);
  }
  {
    ServeOptions o;
    o.name = "env";
    o.extra_args = {"--config", file};
    o.env = {{"OUTBOARD_SERVE_SERVER_MAX_BODY_BYTES", "100000"}};
    ServeProcess serve(o);
    HttpClient c(serve.port());
    EXPECT_EQ(c.post("/signup", body).status, 201);
  }
  {
    ServeOptions o;
    o.name = "flag";
    o.extra_args = {"--config", file, "--max-body-bytes", "150"};
    o.env = {{"OUTBOARD_SERVE_SERVER_MAX_BODY_BYTES", "100000"}};
    ServeProcess serve(o);
    HttpClient c(serve.port());
    expect_json_error(c.post("/signup", body), 413);
  }
}

// state.wait_replicas / state.wait_timeout_ms (docs/STATE.md, "WAIT"): a bad value is refused
// naming the key, whichever way it came; the timeout must be below the store's command timeout.
TEST(ServeConfig, BadWaitSettingsAreRefusedNamingTheKey) {
  TempDir dir;
  auto file = write_file(dir, "serve.toml", "[state]\nwait_replicas = 17\n");
  expect_config_error(serve_with({"--config", file}), {file + ":2:", "state.wait_replicas", "17"});
  expect_config_error(serve_with({"--wait-replicas", "-1"}), {"--wait-replicas"});
  expect_config_error(serve_with({}, {{"OUTBOARD_SERVE_STATE_WAIT_REPLICAS", "some"}}),
                      {"OUTBOARD_SERVE_STATE_WAIT_REPLICAS", "some"});
  expect_config_error(serve_with({"--wait-timeout-ms", "0"}), {"--wait-timeout-ms"});
  expect_config_error(serve_with({"--wait-replicas", "1", "--wait-timeout-ms", "1000", "--store-timeout-ms", "1000"}),
                      {"state.wait_timeout_ms", "state.timeout_ms"});
  auto good = serve_with({"--check", "--wait-replicas", "1", "--wait-timeout-ms", "50"});
  ASSERT_EQ(good.exit_code, std::optional<int>(0)) << good.output;
  EXPECT_NE(good.output.find("state.wait_replicas = 1"), std::string::npos) << good.output;
  EXPECT_NE(good.output.find("state.wait_timeout_ms = 50"), std::string::npos) << good.output;
}

}  // namespace
}  // namespace outboard::testing
