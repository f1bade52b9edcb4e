#include "support/gateway_process.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include "support/free_port.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {
namespace {

constexpr auto kGatewayStartTimeout = std::chrono::seconds(20);


void write_file(std::filesystem::path const& path, std::string const& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

GatewayProcess::GatewayProcess(GatewayOptions options)
    : port_(options.port != 0 ? options.port : free_port()),
      admin_port_(free_port()),
      admin_token_file_(options.admin_token_file.empty() ? dir_ / "admin.token" : options.admin_token_file) {
  while (admin_port_ == port_) admin_port_ = free_port();
  std::vector<std::string> argv{OUTBOARD_BINARY,
                                "gateway",
                                "--listen", "127.0.0.1:" + std::to_string(port_),
                                "--admin", "127.0.0.1:" + std::to_string(admin_port_),
                                "--admin-token-file", admin_token_file_.string(),
                                "--threads", std::to_string(options.threads)};
  if (!options.config.empty()) {
    write_file(config_path(), options.config);
    argv.push_back("--config");
    argv.push_back(config_path().string());
  }
  for (auto const& b : options.backends) {
    argv.push_back("--backend");
    argv.push_back(b);
  }
  if (!options.policy.empty()) {
    argv.push_back("--policy");
    argv.push_back(options.policy);
  }
  for (auto& a : options.extra_args) argv.push_back(a);
  process_ = std::make_unique<ChildProcess>(std::move(argv), std::move(options.env), dir_ / "gateway.log");
  if (options.wait_ready) wait_until_ready();
}

GatewayProcess::~GatewayProcess() {
  if (::testing::Test::HasFailure()) {
    std::cerr << "---- log of outboard gateway (port " << port_ << ", admin " << admin_port_ << ") ----\n"
              << log() << "---- end of log ----\n";
  }
}

std::string GatewayProcess::log() const { return read_log(dir_ / "gateway.log"); }

void GatewayProcess::rewrite_config(std::string const& toml) const {
  auto aside = dir_ / "gateway.toml.new";
  write_file(aside, toml);
  std::filesystem::rename(aside, config_path());
}

HttpResponse GatewayProcess::admin(std::string_view method, std::string_view target, std::string_view body) const {
  HttpClient client(admin_port_);
  return client.request(method, target, body,
                        {{"Authorization", "Bearer " + admin_token()}, {"Content-Type", "application/json"}});
}

std::string GatewayProcess::admin_token() const {
  // The gateway creates the file on start (mode 0600), as it would for an operator.
  std::string token = read_log(admin_token_file_);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  return token;
}

nlohmann::json GatewayProcess::backends() const {
  auto res = admin("GET", "/backends");
  if (res.status != 200) throw std::runtime_error("GET /backends answered " + std::to_string(res.status) + ": " + res.body);
  auto body = res.json();
  if (!body.is_object() || !body.contains("backends") || !body["backends"].is_array()) {
    throw std::runtime_error("GET /backends: unexpected body " + res.body);
  }
  return body["backends"];
}

nlohmann::json GatewayProcess::backend(std::string const& id) const {
  for (auto const& b : backends()) {
    if (b.value("id", "") == id) return b;
  }
  return nullptr;
}

void GatewayProcess::wait_until_ready() {
  auto deadline = std::chrono::steady_clock::now() + kGatewayStartTimeout;
  std::string last;
  for (;;) {
    if (!process_->running()) {
      throw std::runtime_error("outboard gateway exited during start-up (status " +
                               std::to_string(process_->wait(0).value_or(-1)) + "); log:\n" + log());
    }
    if (RawConnection::refused(admin_port_)) {
      last = "admin port refused";
    } else {
      try {
        auto res = admin("GET", "/healthz");
        if (res.status == 200) {
          if (!RawConnection::refused(port_)) return;
          last = "admin up, traffic port refused";
        } else {
          last = "GET /healthz answered " + std::to_string(res.status);
        }
      } catch (std::exception const& e) {
        last = e.what();
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      process_.reset();  // SIGKILL + reap
      throw std::runtime_error("outboard gateway (port " + std::to_string(port_) + ", admin " +
                               std::to_string(admin_port_) + ") was not ready within " +
                               std::to_string(kGatewayStartTimeout.count()) + " s (" + last + "); log:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

HttpResponse KeepAliveClient::request(std::string_view method, std::string_view target, HeaderList const& headers,
                                      std::string_view body) {
  if (!conn_) {
    conn_.emplace(port_);
    ++opened_;
  }
  std::string wire;
  wire.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  wire.append("Host: 127.0.0.1:").append(std::to_string(port_)).append("\r\n");
  for (auto const& [k, v] : headers) wire.append(k).append(": ").append(v).append("\r\n");
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    wire.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  wire.append("\r\n").append(body);
  HttpResponse res;
  try {
    conn_->send(wire);
    res = conn_->read_response(method == "HEAD");
  } catch (std::exception const& e) {
    conn_.reset();
    throw std::runtime_error(std::string(method) + " " + std::string(target) + " on a keep-alive connection to port " +
                             std::to_string(port_) + ": " + e.what());
  }
  auto connection = res.header("Connection").value_or("");
  for (auto& c : connection) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (connection.find("close") != std::string::npos) conn_.reset();
  return res;
}

}  // namespace outboard::testing
