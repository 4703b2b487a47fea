#include "tools/common/curve_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace granary::tools {
namespace {

namespace fs = std::filesystem;

Status IoError(const std::string& what) {
  return Status(StatusCode::kIoError, what + ": " + std::strerror(errno));
}

Result<std::string> ReadKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status(StatusCode::kNotFound, "cannot read key file " + path);
  std::string key;
  in >> key;
  if (key.size() != net::kCurveKeyZ85Bytes || !net::DecodeCurveKey(key).ok()) {
    return Status(StatusCode::kInvalidArgument, path + " does not hold a Z85 CURVE key");
  }
  return key;
}

// Creates `path` exclusively with `mode` and writes `text`.
Status WriteNewFile(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return Status(StatusCode::kAlreadyExists, path + " exists; not replaced");
    return IoError("create " + path);
  }
  const ssize_t written = ::write(fd, text.data(), text.size());
  const bool ok = written == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return IoError("write " + path);
  return Status::Ok();
}

Status MakeDirectory(const std::string& dir, mode_t mode) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return Status(StatusCode::kIoError, "mkdir " + dir + ": " + error.message());
  ::chmod(dir.c_str(), mode);
  return Status::Ok();
}

}  // namespace

Result<std::string> ReadPublicKey(const std::string& path) { return ReadKeyFile(path); }

Result<net::CurveKeyPair> ReadKeyPair(const std::string& dir, const std::string& name) {
  net::CurveKeyPair pair;
  GRANARY_ASSIGN_OR_RETURN(pair.public_key, ReadKeyFile(dir + "/" + name + ".pub"));
  GRANARY_ASSIGN_OR_RETURN(pair.secret_key, ReadKeyFile(dir + "/" + name + ".key"));
  return pair;
}

Status WritePublicKey(const std::string& path, const std::string& z85) {
  return WriteNewFile(path, z85 + "\n", 0644);
}

Status WriteKeyPair(const std::string& dir, const std::string& name,
                    const net::CurveKeyPair& pair) {
  GRANARY_RETURN_IF_ERROR(WriteNewFile(dir + "/" + name + ".key", pair.secret_key + "\n", 0600));
  return WritePublicKey(dir + "/" + name + ".pub", pair.public_key);
}

Status ConfigureServerCurve(const std::string& dir, net::ZmqTransportOptions& options,
                            size_t* admitted_clients) {
  GRANARY_ASSIGN_OR_RETURN(net::CurveKeyPair server, ReadKeyPair(dir, "server"));
  GRANARY_RETURN_IF_ERROR(ConfigureClientCurve(dir, options));
  options.curve_server = server;
  options.curve_allowed_clients.clear();
  const std::string clients = dir + "/clients";
  std::error_code error;
  std::vector<std::string> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(clients, error)) {
    if (entry.path().extension() == ".pub") files.push_back(entry.path().string());
  }
  if (error)
    return Status(StatusCode::kNotFound, "cannot list " + clients + ": " + error.message());
  std::sort(files.begin(), files.end());
  for (const std::string& file : files) {
    GRANARY_ASSIGN_OR_RETURN(std::string key, ReadKeyFile(file));
    options.curve_allowed_clients.push_back(key);
  }
  if (options.curve_allowed_clients.empty()) {
    return Status(StatusCode::kInvalidArgument, clients + " admits no client (no *.pub file)");
  }
  if (admitted_clients != nullptr) *admitted_clients = options.curve_allowed_clients.size();
  return Status::Ok();
}

Status ConfigureClientCurve(const std::string& dir, net::ZmqTransportOptions& options) {
  GRANARY_ASSIGN_OR_RETURN(net::CurveKeyPair client, ReadKeyPair(dir, "client"));
  GRANARY_ASSIGN_OR_RETURN(std::string server_pub, ReadKeyFile(dir + "/server.pub"));
  options.curve_client = client;
  options.curve_peer_server_key = server_pub;
  return Status::Ok();
}

Status GenerateClusterKeys(const std::string& dir) {
  GRANARY_RETURN_IF_ERROR(MakeDirectory(dir, 0700));
  GRANARY_RETURN_IF_ERROR(MakeDirectory(dir + "/clients", 0755));
  GRANARY_ASSIGN_OR_RETURN(net::CurveKeyPair server, net::GenerateCurveKeyPair());
  GRANARY_ASSIGN_OR_RETURN(net::CurveKeyPair client, net::GenerateCurveKeyPair());
  GRANARY_RETURN_IF_ERROR(WriteKeyPair(dir, "server", server));
  GRANARY_RETURN_IF_ERROR(WriteKeyPair(dir, "client", client));
  return WritePublicKey(dir + "/clients/cluster.pub", client.public_key);
}

Status GenerateClientKeys(const std::string& dir, const std::string& server_pub) {
  GRANARY_RETURN_IF_ERROR(MakeDirectory(dir, 0700));
  std::string server_key;
  if (!server_pub.empty()) {
    GRANARY_ASSIGN_OR_RETURN(server_key, ReadKeyFile(server_pub));
  }
  GRANARY_ASSIGN_OR_RETURN(net::CurveKeyPair client, net::GenerateCurveKeyPair());
  GRANARY_RETURN_IF_ERROR(WriteKeyPair(dir, "client", client));
  if (!server_key.empty()) GRANARY_RETURN_IF_ERROR(WritePublicKey(dir + "/server.pub", server_key));
  return Status::Ok();
}

}  // namespace granary::tools
