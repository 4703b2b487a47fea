// The swarm with several namenodes over a simulated journal (swarm.h, issue 13): the faults
// high availability must survive, the watch for two actives under one token, and the check
// that every namenode's store ends up holding the active's namespace.
//
// Fault bounds: at most one namenode is impaired (crashed, paused or wiped) at a time, so a
// standby is always there to take over; journal members fail a minority at a time, except
// that now and then a second member crashes for a moment (writes must then fail, and nothing
// acknowledged may be lost). A wipe hits a standby only while the other namenodes are up: a
// wiped store copies a checkpoint of the active's (the journal is truncated to a few hundred
// entries in the swarm so that this path runs).
//
// A pause is modelled as what the rest of the cluster sees of a SIGSTOPped process: the
// active's lease renewals stop and every link to and from it is cut, for longer than the
// lease; then it comes back with its state and requests in flight and must find itself
// fenced. (Unlike a real pause its own timers keep running meanwhile, so it may notice the
// lapse of its lease before it is resumed; the journal's fencing is checked either way.)
#pragma once

#include "core/seams/env.h"
#include "sim/kernel/simulator.h"
#include "sim/runs/swarm/swarm_state.h"

namespace granary::sim::swarm {

// One high-availability fault, drawn with `r`.
void HaFault(Simulator& sim, SwarmState& state, Random& r, Instant now);
// Looks at every namenode every few milliseconds until the checker finishes: counts
// failovers and tokens held by two actives.
void WatchActives(Simulator& sim, SwarmState& state);
// When the faults stop: every namenode and journal member up, renewals resumed, links healed.
void HealHa(Simulator& sim, SwarmState& state);
// On the checker's fiber: waits (bounded) until every namenode has applied the journal to its
// end, then counts the namenodes whose store holds another namespace than the active's.
void CheckStores(Env& env, SwarmState& state);

}  // namespace granary::sim::swarm
