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

#include "core/security/identity.h"

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

// An admitted client key file: the key, then optionally "groups=g1,g2".
Result<std::string> ReadIdentity(const std::string& path, const std::string& user) {
  std::ifstream in(path);
  std::string key, extra;
  in >> key >> extra;
  std::vector<std::string> groups;
  if (!extra.empty()) {
    if (extra.rfind("groups=", 0) != 0) {
      return Status(StatusCode::kInvalidArgument,
                    path + ": after the key only 'groups=G1,G2' may follow, not '" + extra + "'");
    }
    std::stringstream list(extra.substr(7));
    for (std::string group; std::getline(list, group, ',');) groups.push_back(group);
  }
  const std::string identity = FormatPrincipal(user, groups);
  GRANARY_RETURN_IF_ERROR(ParsePrincipal(identity).status().WithContext(path));
  return identity;
}

// Admits every DIR/*.pub; `identity` empty: as the file's stem, with its groups.
Status AdmitKeys(const std::string& dir, const std::string& identity,
                 net::ZmqTransportOptions& options) {
  std::error_code error;
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    if (entry.path().extension() == ".pub") files.push_back(entry.path());
  }
  if (error) return Status(StatusCode::kNotFound, "cannot list " + dir + ": " + error.message());
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    GRANARY_ASSIGN_OR_RETURN(std::string key, ReadKeyFile(file.string()));
    std::string who = identity;
    if (who.empty()) {
      GRANARY_ASSIGN_OR_RETURN(who, ReadIdentity(file.string(), file.stem().string()));
    }
    if (options.curve_client_identities.count(key) == 0) {
      options.curve_allowed_clients.push_back(key);
    }
    options.curve_client_identities[key] = who;
  }
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
  options.curve_client_identities.clear();
  GRANARY_RETURN_IF_ERROR(AdmitKeys(dir + "/clients", "", options));
  if (fs::exists(dir + "/datanodes")) {
    GRANARY_RETURN_IF_ERROR(
        AdmitKeys(dir + "/datanodes", std::string(kDatanodePrincipal), options));
  }
  if (options.curve_allowed_clients.empty()) {
    return Status(StatusCode::kInvalidArgument, dir + "/clients admits no client (no *.pub file)");
  }
  if (admitted_clients != nullptr) *admitted_clients = options.curve_allowed_clients.size();
  return Status::Ok();
}

Status UseDatanodeKey(const std::string& dir, net::ZmqTransportOptions& options) {
  Result<net::CurveKeyPair> pair = ReadKeyPair(dir, "datanode");
  if (!pair.ok()) {
    return pair.status().WithContext(
        "a datanode calls with its own key pair, datanode.pub and datanode.key "
        "(granary-cluster keys makes them; docs/deploy.md)");
  }
  options.curve_client = *pair;
  return Status::Ok();
}

Status ConfigureClientCurve(const std::string& dir, net::ZmqTransportOptions& options) {
  GRANARY_ASSIGN_OR_RETURN(net::CurveKeyPair client, ReadKeyPair(dir, "client"));
  GRANARY_ASSIGN_OR_RETURN(std::string server_pub, ReadKeyFile(dir + "/server.pub"));
  options.curve_client = client;
  options.curve_peer_server_key = server_pub;
  return Status::Ok();
}

Status GenerateClusterKeys(const std::string& dir, const std::string& superuser) {
  GRANARY_RETURN_IF_ERROR(ParsePrincipal(superuser).status());
  GRANARY_RETURN_IF_ERROR(MakeDirectory(dir, 0700));
  GRANARY_RETURN_IF_ERROR(MakeDirectory(dir + "/clients", 0755));
  GRANARY_RETURN_IF_ERROR(MakeDirectory(dir + "/datanodes", 0755));
  GRANARY_ASSIGN_OR_RETURN(net::CurveKeyPair server, net::GenerateCurveKeyPair());
  GRANARY_ASSIGN_OR_RETURN(net::CurveKeyPair client, net::GenerateCurveKeyPair());
  GRANARY_ASSIGN_OR_RETURN(net::CurveKeyPair datanode, net::GenerateCurveKeyPair());
  GRANARY_RETURN_IF_ERROR(WriteKeyPair(dir, "server", server));
  GRANARY_RETURN_IF_ERROR(WriteKeyPair(dir, "client", client));
  GRANARY_RETURN_IF_ERROR(WriteKeyPair(dir, "datanode", datanode));
  GRANARY_RETURN_IF_ERROR(WritePublicKey(dir + "/datanodes/cluster.pub", datanode.public_key));
  GRANARY_RETURN_IF_ERROR(
      WritePublicKey(dir + "/clients/" + superuser + ".pub", client.public_key));
  const std::string user_dir = dir + "/users/" + superuser;
  GRANARY_RETURN_IF_ERROR(MakeDirectory(user_dir, 0700));
  GRANARY_RETURN_IF_ERROR(WriteKeyPair(user_dir, "client", client));
  return WritePublicKey(user_dir + "/server.pub", server.public_key);
}

Status GenerateUserKeys(const std::string& dir, const std::string& user) {
  GRANARY_ASSIGN_OR_RETURN(Principal principal, ParsePrincipal(user));
  if (principal.kind != Principal::Kind::kUser || !principal.groups.empty()) {
    return Status(StatusCode::kInvalidArgument, "'" + user + "' is not a user name");
  }
  const std::string admitted = dir + "/clients/" + user + ".pub";
  if (fs::exists(admitted)) {
    return Status(StatusCode::kAlreadyExists, admitted + " exists: " + user + " has a key");
  }
  const std::string user_dir = dir + "/users/" + user;
  GRANARY_RETURN_IF_ERROR(GenerateClientKeys(user_dir, dir + "/server.pub"));
  GRANARY_ASSIGN_OR_RETURN(std::string key, ReadKeyFile(user_dir + "/client.pub"));
  return WritePublicKey(admitted, key);
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
