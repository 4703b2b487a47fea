// CURVE key directories of the tools (docs/deploy.md, "Keys").
//
// A key directory holds Z85 keys, one per file (40 characters and a newline):
//   server.pub  server.key     the cluster's server key pair: every namenode and datanode
//                              serves with it; every caller checks servers against server.pub
//   client.pub  client.key     this machine's (or user's) client key pair for outgoing calls
//   clients/NAME.pub           the client public keys a server admits (servers only); a key
//                              acts as user NAME (core/security/identity.h). After the key,
//                              the file may name the user's groups: "groups=ml,research"
//   datanode.pub  datanode.key the datanodes' key pair for their outgoing calls
//   datanodes/*.pub            the datanode keys a server admits: only these may register,
//                              heartbeat and report blocks
//   users/NAME/                a user's client key directory (client.*, server.pub), as
//                              --curve-keys and GRANARY_CURVE_KEYS take it
// Secret keys are written mode 0600. A server needs server.*, client.* (the namenode's own
// calls), datanode.* (datanodes), clients/ and datanodes/; a pure client needs server.pub
// and client.*.
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

// Fills the server side (server pair, admitted clients and datanodes with their identities)
// and the caller side (client pair, server key) of `options` from a server's key directory.
Status ConfigureServerCurve(const std::string& dir, net::ZmqTransportOptions& options,
                            size_t* admitted_clients);
// A datanode's outgoing calls use DIR/datanode.{pub,key}, admitted by datanodes/.
Status UseDatanodeKey(const std::string& dir, net::ZmqTransportOptions& options);
// Fills the caller side of `options` from a client's key directory.
Status ConfigureClientCurve(const std::string& dir, net::ZmqTransportOptions& options);

// A new cluster key directory: server pair, a client pair for the cluster's own tools admitted
// as the superuser (clients/SUPERUSER.pub, and users/SUPERUSER/), and a datanode pair
// admitted as datanodes/cluster.pub.
Status GenerateClusterKeys(const std::string& dir, const std::string& superuser);
// A new user of a cluster key directory: DIR/users/NAME/ (client pair, server.pub) and the
// key admitted as clients/NAME.pub. kAlreadyExists when NAME has a key.
Status GenerateUserKeys(const std::string& dir, const std::string& user);
// A new client key pair in DIR (client.pub, client.key); when `server_pub` is not empty it
// is copied to DIR/server.pub.
Status GenerateClientKeys(const std::string& dir, const std::string& server_pub);

}  // namespace granary::tools
