// CURVE key directories of the tools (docs/deploy.md, "Keys").
//
// A key directory holds Z85 keys, one per file (40 characters and a newline):
//   server.pub  server.key     the cluster's server key pair: every namenode and datanode
//                              serves with it; every caller checks servers against server.pub
//   client.pub  client.key     this machine's (or user's) client key pair for outgoing calls
//   clients/*.pub              the client public keys a server admits (servers only)
// Secret keys are written mode 0600. A server needs server.*, client.* (datanodes call the
// namenode and each other) and clients/; a pure client needs server.pub and client.*.
#pragma once

#include <string>

#include "core/common/status.h"
#include "net/curve.h"
#include "net/zmq_transport.h"

namespace granary::tools {

// Reads DIR/<name>.pub and DIR/<name>.key.
Result<net::CurveKeyPair> ReadKeyPair(const std::string& dir, const std::string& name);
// Reads one Z85 public key file.
Result<std::string> ReadPublicKey(const std::string& path);
// Writes DIR/<name>.pub and DIR/<name>.key (0600); kAlreadyExists rather than overwrite.
Status WriteKeyPair(const std::string& dir, const std::string& name, const net::CurveKeyPair& pair);
// Writes one public key file; kAlreadyExists rather than overwrite.
Status WritePublicKey(const std::string& path, const std::string& z85);

// Fills the server side (server pair, admitted clients) and the caller side (client pair,
// server key) of `options` from a server's key directory.
Status ConfigureServerCurve(const std::string& dir, net::ZmqTransportOptions& options,
                            size_t* admitted_clients);
// Fills the caller side of `options` from a client's key directory.
Status ConfigureClientCurve(const std::string& dir, net::ZmqTransportOptions& options);

// A new cluster key directory: server pair, a client pair for the cluster's own nodes and
// tools, and that client admitted (clients/cluster.pub).
Status GenerateClusterKeys(const std::string& dir);
// A new client key pair in DIR (client.pub, client.key); when `server_pub` is not empty it
// is copied to DIR/server.pub.
Status GenerateClientKeys(const std::string& dir, const std::string& server_pub);

}  // namespace granary::tools
