// Package redislimit is a payments.Limiter shared through Redis: one rate
// limit for every process (replica, machine) that sends requests on one
// provider account.
//
// A provider's limit is per account (popolni.club: 5 requests a second,
// answering 503 to a sixth arriving within one second). Each process's own
// in-process limiter keeps that process under it, but three replicas send
// three times as much. Give every client of one account, in every process,
// a Limiter made by New with the same Redis, the same key and the same
// arguments:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	lim, err := redislimit.New(rdb, "payments:limit:popolni:"+accountID, 5, 1)
//	// in every replica, every client of the account: payments.WithLimiter(lim)
//
// One key per provider account: two accounts (or two providers) need two
// keys, and one account must never be split over two keys.
//
// # Slowing down after a refusal
//
// A Limiter is a payments.RefusalObserver: the client calls Refused for
// every answer the provider's document calls an unprocessed refusal for
// the account's rate (popolni's 503), and the slow-down is shared by every
// process on the key, with payments.NewLimiter's rule: a refusal cuts the
// rate to 80 % of what it is, at most once a second whichever process saw
// it (the refusals of requests already on their way count once); the rate
// then creeps back by 1 % of the full rate a second, never below 1/16 of
// it. The cut, the cooldown and the creep are decided by a script in
// Redis on the server's clock, and every grant stretches its windows by
// 1/f, f the rate's factor at that moment. Refused never blocks: it sends
// the cut in the background (one exchange in flight per process, none
// within a second of the last cut the process knows of); one that fails is
// counted (payments.limiter.refusals.lost) and dropped. Rate reads the
// shared rate now, for an operator.
//
// Recovery is slow by design, as in one process: after every request was
// refused for 5 s, the cuts leave about a third of the rate, and the creep
// takes about 65 s to bring it back (the package's long proof,
// TestRefusalSlowdownAcrossProcesses, measures it).
//
// # Redis Cluster
//
// The slow-down's state lives in a second key beside the grants' key, and
// each script reads both, so in a Redis Cluster both must be in one slot.
// The second key is derived to be: key+":cut" when the key has a hash tag,
// "{"+key+"}:cut" when it has none. Recommended: a hash tag around the
// account's part, e.g. "{payments:limit:popolni:merchant-42}". A key that
// contains "}" but no hash tag ("a}b", "{}x") gets a second key in another
// slot, which a Cluster refuses (Wait then fails closed): give such a key
// a hash tag.
//
// # What it guarantees
//
// Each grant is decided by one Lua script, atomically, on the Redis
// server's clock (TIME; the callers' clocks are never read): at most burst
// grants in any window of burst/perSecond seconds and, for perSecond ≥ 1,
// at most ⌊perSecond⌋ in any one second. Grants are counted at the moments
// they were really given: a caller told to wait sleeps and asks again, and
// is granted only when the script finds the grant allowed at that moment. A
// caller that wakes late therefore never lets the next one, in this
// process or another, start early, and a strict server counting arrivals in
// a sliding second sees no more than perSecond as long as the delay between
// Wait's return and the request's arrival varies by less than the safety
// margin.
//
// The margin (WithMargin, DefaultMargin 20 ms) stretches every window as if
// a second lasted 1s+margin, at the cost of margin/(1s+margin) of the rate
// (2 % by default). Raise it to the spread of your latency to the provider.
//
// Within one process, callers take turns: only one asks Redis at a time.
//
// # Fail closed
//
// When Redis is unreachable, answers with an error or does not answer
// within the timeout (WithTimeout, DefaultTimeout 500 ms), Wait returns an
// *UnavailableError, which matches ErrUnavailable and payments.ErrUnavailable
// with errors.Is: the call fails before anything is sent. There is no
// fallback to an unshared limit, which would let every replica send the
// whole rate. A grant whose answer arrived after the timeout is lost, never
// used. Nothing has to be reset: the next Wait asks Redis again, and works
// as soon as Redis answers.
//
// Grants live in Redis memory only and need no persistence, with one limit
// to know: a Redis restarted empty (or a replica promoted before the last
// grants reached it) has forgotten the last window's grants, so the first
// grants after it may follow those of just before the outage by less than a
// window. The provider may then refuse one or two requests (popolni: 503,
// which the client retries after a delay).
//
// The key expires one second after its longest window once unused (while
// slowed down, after its longest window at the floor); the slow-down's
// state once the creep would have brought the rate back to the full rate,
// and a second.
package redislimit
