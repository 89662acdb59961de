/*
 * holdfast_session.pml -- Holdfast's own session protocol, as implemented.
 *
 * Mirrors src/profile/session_protocol.cc (Acquire/TryAcquire, WithdrawRequest, SaveOnce /
 * SaveMany, Trade, Send), src/profile/profile_record.h (the lock lives inside the record:
 * load_count, session{owner,epoch}, request{by}, inbox[], processed[]) and the DataStore write
 * path they use (data_store.cc RunUpdate, update_together.cc UpdateTogether, service_core.cc
 * CommitResolved / ResolveUnknownOutcome). The game servers call it the way ProfileStore does
 * (profile_store.cc, profile_save.cc, profile_trade.cc), within the caller contract R1-R4 of
 * docs/model.md, which maps every step to the code and lists what is abstracted away.
 *
 * Actors: 2 game servers (server 0, 1), 1 grant service (sender), 1 invariant monitor.
 * Data:   2 profiles; one unique item (starts in profile 0); fungible coins (1 in profile 1);
 *         NM grant messages (1 coin each, dedupe ids m0 [, m1], to profile TGT); trades between
 *         the profiles (the item one way, one coin the other, both records in one UpdateTogether).
 *
 * The DataStore write path. RunUpdate reads (value, version), runs the transform and commits
 * IfVersion(version read) carrying one op id; a conflict re-reads and re-runs the transform. A
 * conditional write that succeeds therefore acts as one atomic read-modify-write at its commit
 * point, so every store step below is one `atomic` block over the record(s) it touches.
 * Outcomes of a commit:
 *   applied, reply received                                -> the caller gets the result
 *   applied, reply lost, read-back finds the op id          -> the same (merged with the above)
 *   applied, reply lost, read-back fails                    -> the caller gets kOutcomeUnknown
 *   not applied, reply lost, read-back fails                -> the caller gets kOutcomeUnknown
 *   not applied, read-back says absent -> the same conditional write is repeated; that is the
 *     step happening later, so it needs no branch of its own.
 *
 * Lease expiry is adversarial: any acquire may find the lease expired (backend clock) or steal
 * by policy. Safety must not depend on clocks, so lease times are not modelled.
 *
 * Variants (-D flags to spin):
 *   (none)         the protocol as implemented, driven by a caller that keeps the contract of
 *                  docs/model.md (R1-R4); ProfileStore keeps all of it but R2 and R3.
 *   -DTRADE_UNKNOWN_RETRIES  the same, with R2's other form: after kOutcomeUnknown the caller
 *                  retries the identical trade; must verify too (a fix for F1).
 *   Planted bugs; each must produce a counterexample:
 *   -DUNFENCED     SaveOnce writes without checking Fenced(record, id).
 *   -DSEQUENTIAL   a trade changes RAM only; each profile is persisted by its own fenced save.
 *   -DBLIND_RETRY  CommitResolved retries an unknown-outcome write without reading back the op
 *                  id: the repeated IfVersion write conflicts with its own first application, so
 *                  RunUpdate / UpdateTogether re-run the transform and report *that* result.
 *   -DACK_EARLY    a trade is acknowledged when applied in RAM, before its commit.
 *   Findings about the implementation (expected to fail too; docs/model.md F1-F5):
 *   -DTRADE_UNKNOWN_RESTORES  F1: ProfileStore::TradeImpl restores both profiles' pre-trade
 *                  data after kOutcomeUnknown and the sessions go on (breaks R2).
 *   -DRENEW_CARRIES_PROCESSED F2: DoSave sends processed_unsaved with a save that carries no
 *                  data (a lease renewal, a message pick-up) (breaks R3).
 *   -DNM=2 -DPROC_MEM=1       F3: the processed-id memory (200 ids) is outrun before a sender
 *                  re-sends after kOutcomeUnknown.
 *   -DTRADE_DATA_ONLY         F5: the data-only Trade overload commits handled messages'
 *                  effects without removing the messages.
 *   Knobs: -DNM=1|2 messages (default 1), -DMAXE=n epochs per profile (default 3), -DMAXC=n
 *          crashes (default 1). Diagnostics, to let a mutant run on to the damage it causes:
 *          -DNO_I1_ASSERT (no per-write fence assertion), -DNO_I2_ASSERT (no assertion on what
 *          a trade's caller is told), -DCOINS_AT_REST (conservation checked only where no RAM
 *          holds handled-but-unsaved messages). -DPROBE=k: vacuity probes (below).
 *
 * Run:  spin -a [-D...] holdfast_session.pml && gcc -O2 -DSAFETY -o pan pan.c && ./pan -m100000
 *       (scripts/check-model.sh runs every variant and checks the verdicts)
 */

#define NS    2        /* game servers */
#define NP    2        /* profiles */
#ifndef NM
#define NM    1        /* grant messages: 1 or 2 */
#endif
#define NONE  255
#ifndef MAXE
#define MAXE  3        /* epochs (acquisitions) per profile: keeps the state space finite */
#endif
#ifndef MAXC
#define MAXC  1        /* server crashes per run */
#endif
#ifndef PROC_MEM
#define PROC_MEM NM    /* processed-id memory (NM, or 1 for F3); the implementation keeps 200 */
#endif
#ifndef TGT
#define TGT   0        /* the profile the grant messages go to */
#endif
#define INIT_COINS 1

#define IDX(s,p)  ((s)*NP+(p))
#define BIT(x)    (1 << (x))
#define POP2(x)   (((x) & 1) + (((x) >> 1) & 1))
/* Fenced(record, id) in session_protocol.cc; while a session exists its epoch == load_count */
#define FENCED(s,p) (s_owner[p] == (s) && s_lc[p] == r_e[IDX(s,p)])

/* ---------------- the store: one record per profile (data + meta) ---------------- */
byte s_owner[NP];   /* meta.session.owner; NONE: session null                             */
byte s_lc[NP];      /* meta.load_count (= meta.session.epoch while a session exists)      */
byte s_req[NP];     /* meta.request.by; NONE: no release request                          */
bit  s_item[NP];    /* data: holds the unique item                                        */
byte s_coins[NP];   /* data: coins                                                        */
byte s_inbox[NP];   /* meta.inbox: bit m = message m pending                              */
byte s_proc[NP];    /* meta.processed: bit m = id m remembered as processed               */

/* ---------------- per-server RAM (lost on crash) ---------------- */
bit  held[NS*NP];   /* the server believes it holds a session of p                        */
byte r_e[NS*NP];    /* SessionId.epoch of that session                                    */
bit  r_item[NS*NP]; /* the game's copy of the data                                        */
byte r_coins[NS*NP];
byte r_hand[NS*NP]; /* messages handled in RAM, to pass as processed_messages             */

/* what a server is in the middle of, between two steps of one blocking call */
#define P_IDLE         0
#define P_CLEANUP      1  /* Acquire got kOutcomeUnknown: give the lock back if it is ours  */
#define P_RETRY_SAVE   2  /* BLIND_RETRY: a save's reply was lost, the write is retried    */
#define P_RETRY_REL    3  /* BLIND_RETRY: the same for a release                            */
#define P_RETRY_TRADE  4  /* BLIND_RETRY: the same for a trade                              */
#define P_COMMIT_TRADE 5  /* ACK_EARLY: acknowledged, the commit is still to do             */
#define P_RESOLVE_TRADE 6 /* TRADE_UNKNOWN_RETRIES: retrying the identical trade            */
byte pend[NS];
byte pend_p[NS];

/* ---------------- ghosts for the properties ---------------- */
#define M_NONE    0
#define M_UNKNOWN 1       /* Send returned kOutcomeUnknown: the sender will re-send        */
#define M_ACKED   2       /* Send returned true, or false (= already delivered)            */
byte m_st[NM];
byte added[NM];           /* how many times message m was put into an inbox                */
byte g_lc[NP];            /* the highest epoch ever granted per profile                    */
byte crashes = 0;

/* scratch, always set before use inside one atomic step (not part of the state) */
hidden byte h_take, h_m, h_p, h_k, h_a, h_b;
/* event ghosts, named so that a failed assertion reads as the property it checks */
hidden byte acked_trade_is_committed, failed_trade_is_not_applied;

#ifndef NO_I2_ASSERT
#define I2_ASSERT(x) assert(x)
#else
#define I2_ASSERT(x) skip
#endif

/* Vacuity probes: -DPROBE=k turns event k into an assertion failure, so that a run shows the
   event is reachable (scripts/check-model.sh expects an error for every k):
   1 re-acquire "already ours" after a crash, 2 Acquire's cleanup clears a lock, 3 a stale
   release is refused, 4 a trade commits on re-acquired profiles (epochs > 1), 5 a trade is
   refused by a fence, 6 a re-sent message is refused as processed while the profile is held,
   7 a message is processed by a save at epoch > 1. */
#ifdef PROBE
#define REACHED(k, cond) if :: (PROBE == k) && (cond) -> assert(false) :: else -> skip fi
#else
#define REACHED(k, cond) skip
#endif

/* ---------------- helpers (all used inside atomic blocks) ---------------- */

/* Acquired.record.data -> RAM */
inline load(s,p) {
  r_item[IDX(s,p)] = s_item[p]; r_coins[IDX(s,p)] = s_coins[p]; r_hand[IDX(s,p)] = 0
}

/* the session ends in RAM, its data is discarded (zeroes keep the state space small) */
inline drop(s,p) {
  held[IDX(s,p)] = 0; r_e[IDX(s,p)] = 0; r_item[IDX(s,p)] = 0; r_coins[IDX(s,p)] = 0;
  r_hand[IDX(s,p)] = 0
}

/* I1: every write of session data comes from the newest session of the profile */
inline check_writer(s,p) {
#ifndef NO_I1_ASSERT
  assert(s_owner[p] == (s) && r_e[IDX(s,p)] == g_lc[p] && s_lc[p] == g_lc[p])
#else
  skip
#endif
}

/* record.data = the caller's data (SaveRequest.data, Trade data_a / data_b) */
inline write_data(s,p) {
  check_writer(s,p);
  s_item[p] = r_item[IDX(s,p)]; s_coins[p] = r_coins[IDX(s,p)]
}

/* MarkProcessed(record, request.processed_messages, processed_memory) */
inline mark_processed(s,p) {
  h_m = 0;
  do
  :: h_m < NM ->
     if
     :: r_hand[IDX(s,p)] & BIT(h_m) ->
        s_inbox[p] = s_inbox[p] & ~BIT(h_m);
        if
        :: !(s_proc[p] & BIT(h_m)) ->
           REACHED(7, s_lc[p] > 1);
#if PROC_MEM < NM
           s_proc[p] = BIT(h_m)            /* the list is full: the oldest id is forgotten */
#else
           s_proc[p] = s_proc[p] | BIT(h_m)
#endif
        :: else -> skip
        fi
     :: else -> skip
     fi;
     h_m++
  :: else -> break
  od;
  h_m = 0
}

/* SaveOnce's transform after the fence held; kind 0 renew, 1 save, 2 release */
inline commit_save(s,p,kind) {
  if
#ifndef RENEW_CARRIES_PROCESSED
  :: kind == 0 -> skip                       /* renew: data nullopt, no processed ids */
#else
  :: kind == 0 -> mark_processed(s,p)        /* F2: processed ids without the data */
#endif
  :: kind != 0 -> write_data(s,p); mark_processed(s,p)
  fi;
  if :: kind == 2 -> s_owner[p] = NONE :: else -> skip fi      /* record.session.reset() */
}

/* trace output for counterexample replays (spin -t); no effect on verification */
inline say_op(s,p,kind) {
  if
  :: kind == 0 -> printf("MSG: s%d renew p%d (epoch %d): ", s, p, r_e[IDX(s,p)])
  :: kind == 1 -> printf("MSG: s%d save p%d (epoch %d): ", s, p, r_e[IDX(s,p)])
  :: kind == 2 -> printf("MSG: s%d release p%d (epoch %d): ", s, p, r_e[IDX(s,p)])
  fi
}

/* the caller's side of a successful save */
inline reply_save(s,p,kind) {
  if
  :: kind == 2 -> drop(s,p)                  /* released */
  :: kind == 1 -> r_hand[IDX(s,p)] = 0       /* those messages are now processed */
#ifndef RENEW_CARRIES_PROCESSED
  :: kind == 0 -> skip
#else
  :: kind == 0 -> r_hand[IDX(s,p)] = 0       /* F2: erased from processed_unsaved */
#endif
  fi
}

/* ---------------- Acquire -> TryAcquire ---------------- */
inline acquire(s,p) {
  atomic {
    !held[IDX(s,p)] && pend[s] == P_IDLE ->
    if
    :: s_owner[p] == NONE || s_owner[p] == s -> h_take = 1;   /* free, or "already ours" */
       REACHED(1, s_owner[p] == s && crashes > 0)
    :: s_owner[p] != NONE && s_owner[p] != s ->
       if
       :: h_take = 1    /* lease_until <= backend now (expired), or steal after the wait */
       :: h_take = 0    /* held by a live session: request a release (or kFailIfHeld)   */
       fi
    fi;
    if
    :: h_take && s_lc[p] < MAXE ->
       if
       :: /* committed, reply received or read back: Acquired{id = (s, epoch)} */
          s_lc[p]++; s_owner[p] = s; s_req[p] = NONE;
          assert(s_lc[p] > g_lc[p]); g_lc[p] = s_lc[p];         /* I1: epochs only grow */
          held[IDX(s,p)] = 1; r_e[IDX(s,p)] = s_lc[p]; load(s,p);
          printf("MSG: s%d acquire p%d: taken, epoch %d\n", s, p, s_lc[p])
       :: /* committed, reply lost, read-back failed: kOutcomeUnknown */
          s_lc[p]++; s_owner[p] = s; s_req[p] = NONE;
          assert(s_lc[p] > g_lc[p]); g_lc[p] = s_lc[p];
          pend[s] = P_CLEANUP; pend_p[s] = p;
          printf("MSG: s%d acquire p%d: applied (epoch %d), outcome unknown\n", s, p, s_lc[p])
       :: /* not committed, read-back failed: kOutcomeUnknown */
          pend[s] = P_CLEANUP; pend_p[s] = p;
          printf("MSG: s%d acquire p%d: not applied, outcome unknown\n", s, p)
       fi
    :: h_take && s_lc[p] >= MAXE -> skip                      /* model bound */
    :: !h_take ->
       if
       :: s_req[p] != s -> s_req[p] = s;     /* record.request = {me, now}: kRequested   */
          printf("MSG: s%d acquire p%d: held by s%d, release requested\n", s, p, s_owner[p])
       :: true -> skip                       /* kFailIfHeld, or the request is ours already */
       fi
    fi;
    h_take = 0
  }
}

/* Acquire's kOutcomeUnknown branch: an Update that clears the session if its owner is us */
inline cleanup(s) {
  atomic {
    pend[s] == P_CLEANUP ->
    h_p = pend_p[s];
    if
    :: s_owner[h_p] == s -> s_owner[h_p] = NONE;   /* "give it back if so" (any epoch) */
       printf("MSG: s%d cleanup p%d: session cleared\n", s, h_p);
       REACHED(2, true)
    :: true -> skip                                /* not ours, or this write failed too */
    fi;
    pend[s] = P_IDLE; pend_p[s] = 0; h_p = 0
  }
}

/* WithdrawRequest: best effort, only our own request */
inline withdraw(s,p) {
  atomic {
    !held[IDX(s,p)] && pend[s] == P_IDLE && s_req[p] == s -> s_req[p] = NONE;
    printf("MSG: s%d withdraws its request on p%d\n", s, p)
  }
}

/* ---------------- the game's message handler: RAM only ---------------- */
/* It handles a message listed in the inbox it was shown (Acquired.record / Saved.inbox);
   "in the stored inbox now" stands for that, see docs/model.md. */
inline handle(s,p,m) {
  atomic {
    held[IDX(s,p)] && pend[s] == P_IDLE &&
    (s_inbox[p] & BIT(m)) && !(r_hand[IDX(s,p)] & BIT(m)) ->
    r_coins[IDX(s,p)]++; r_hand[IDX(s,p)] = r_hand[IDX(s,p)] | BIT(m);
    printf("MSG: s%d handles message m%d of p%d in RAM (+1 coin)\n", s, m, p)
  }
}

/* ---------------- Save / renew / release: SaveOnce ---------------- */
inline save(s,p,kind) {
  atomic {
    held[IDX(s,p)] && pend[s] == P_IDLE ->
    if
#ifdef UNFENCED
    :: true ->
       if
       :: !FENCED(s,p) -> printf("MSG: (s%d's session of p%d is stale; UNFENCED writes)\n", s, p)
       :: else -> skip
       fi;
#else
    :: FENCED(s,p) ->
#endif
       say_op(s,p,kind);
       if
       :: commit_save(s,p,kind); reply_save(s,p,kind); printf("ok\n")   /* or read back */
       :: commit_save(s,p,kind);   /* applied, kOutcomeUnknown: a save keeps its RAM and is
                                      retried later; a release ends the session locally */
          printf("applied, outcome unknown\n");
          if :: kind == 2 -> drop(s,p) :: else -> skip fi
       :: kind == 2 -> drop(s,p);  /* a release not applied (error or unknown): ended locally,
                                      the lock stays until its lease runs out */
          printf("failed\n")
#ifdef BLIND_RETRY
       :: commit_save(s,p,kind);   /* applied, reply lost: retried without a read-back */
          pend[s] = (kind == 2 -> P_RETRY_REL : P_RETRY_SAVE); pend_p[s] = p;
          printf("applied, reply lost\n")
#endif
       fi
#ifndef UNFENCED
    :: else ->                     /* session_lost: stop, fire the event, never write */
       say_op(s,p,kind); printf("session lost\n");
       REACHED(3, kind == 2);
       drop(s,p)
#endif
    fi
  }
}

#ifdef BLIND_RETRY
/* The repeated IfVersion write conflicts with its own first application; RunUpdate re-reads
   and re-runs the SaveOnce transform, whose answer is what the caller gets. */
inline retry_save(s) {
  atomic {
    (pend[s] == P_RETRY_SAVE || pend[s] == P_RETRY_REL) ->
    h_p = pend_p[s]; h_k = (pend[s] == P_RETRY_REL -> 2 : 1);
    pend[s] = P_IDLE; pend_p[s] = 0;
    if
    :: FENCED(s,h_p) -> commit_save(s,h_p,h_k); reply_save(s,h_p,h_k);
       printf("MSG: s%d blind retry of the save of p%d: ok\n", s, h_p)
    :: else -> drop(s,h_p);                    /* "session lost", though the save applied */
       printf("MSG: s%d blind retry of the save of p%d: session lost\n", s, h_p)
    fi;
    h_p = 0; h_k = 0
  }
}
#endif

/* ---------------- Trade: UpdateTogether over both records, both fences ---------------- */
/* the caller's data after the trade: the item a -> b, one coin b -> a */
inline ram_trade(s,a,b) {
  r_item[IDX(s,a)] = 0; r_item[IDX(s,b)] = 1; r_coins[IDX(s,a)]++; r_coins[IDX(s,b)]--
}
inline ram_untrade(s,a,b) {
  r_item[IDX(s,a)] = 1; r_item[IDX(s,b)] = 0; r_coins[IDX(s,a)]--; r_coins[IDX(s,b)]++
}
/* the batch: both records in one atomic commit. ProfileStore calls the SaveRequest overload
   of Trade: each side's data and its handled messages (processed_unsaved) commit together. */
inline commit_pair(s,a,b) {
  write_data(s,a); write_data(s,b);
#ifndef TRADE_DATA_ONLY
  mark_processed(s,a); mark_processed(s,b)
#else
  skip                               /* F5: the data-only overload marks nothing */
#endif
}
/* success: Apply() erases the committed ids from processed_unsaved */
inline trade_ok(s,a,b) {
#ifndef TRADE_DATA_ONLY
  r_hand[IDX(s,a)] = 0; r_hand[IDX(s,b)] = 0
#else
  skip
#endif
}
/* a fence failed: that session ends; the other one keeps its pre-trade RAM */
inline trade_refused(s,a,b) {
  if :: !FENCED(s,a) -> drop(s,a) :: else -> skip fi;
  if :: !FENCED(s,b) -> drop(s,b) :: else -> skip fi
}

inline trade(s,a,b) {
  atomic {
    held[IDX(s,a)] && held[IDX(s,b)] && pend[s] == P_IDLE &&
    r_item[IDX(s,a)] && r_coins[IDX(s,b)] > 0 ->
#if defined(SEQUENTIAL)
    ram_trade(s,a,b);                /* acknowledged; persisted later, profile by profile */
    printf("MSG: s%d trade item p%d->p%d, coin p%d->p%d in RAM only\n", s, a, b, b, a)
#elif defined(ACK_EARLY)
    ram_trade(s,a,b);                /* acknowledged now ...                   */
    printf("MSG: s%d trade item p%d->p%d, coin p%d->p%d: acknowledged (RAM)\n", s, a, b, b, a);
    pend[s] = P_COMMIT_TRADE; pend_p[s] = a    /* ... committed by the next step */
#else
    if
    :: FENCED(s,a) && FENCED(s,b) ->
       if
       :: ram_trade(s,a,b); commit_pair(s,a,b); trade_ok(s,a,b);   /* ok, or read back */
          printf("MSG: s%d trade item p%d->p%d, coin p%d->p%d: committed, acknowledged\n",
                 s, a, b, b, a);
          REACHED(4, s_lc[a] > 1 && s_lc[b] > 1)
#if defined(TRADE_UNKNOWN_RETRIES)
       /* kOutcomeUnknown, R2 second form: retry the identical trade (resolve_trade) */
       :: ram_trade(s,a,b); commit_pair(s,a,b); ram_untrade(s,a,b);
          pend[s] = P_RESOLVE_TRADE; pend_p[s] = a;
          printf("MSG: s%d trade p%d->p%d: applied, outcome unknown; retrying\n", s, a, b)
       :: pend[s] = P_RESOLVE_TRADE; pend_p[s] = a;
          printf("MSG: s%d trade p%d->p%d: not applied, outcome unknown; retrying\n", s, a, b)
#elif !defined(TRADE_UNKNOWN_RESTORES)
       /* kOutcomeUnknown: either RAM may be wrong now, so the caller ends both sessions
          without writing (the contract, docs/model.md R2) */
       :: ram_trade(s,a,b); commit_pair(s,a,b); drop(s,a); drop(s,b);
          printf("MSG: s%d trade p%d->p%d: applied, outcome unknown; both sessions ended\n",
                 s, a, b)
       :: drop(s,a); drop(s,b);
          printf("MSG: s%d trade p%d->p%d: not applied, outcome unknown; both ended\n", s, a, b)
#else
       /* F1, ProfileStore::TradeImpl as implemented: any error restores both profiles'
          pre-trade data and the sessions go on */
       :: ram_trade(s,a,b); commit_pair(s,a,b); ram_untrade(s,a,b);
          printf("MSG: s%d trade item p%d->p%d, coin p%d->p%d: applied, outcome unknown\n",
                 s, a, b, b, a);
          printf("MSG: s%d restores the pre-trade data of p%d and p%d, sessions go on\n",
                 s, a, b)
#endif
#ifdef BLIND_RETRY
       :: ram_trade(s,a,b); commit_pair(s,a,b); ram_untrade(s,a,b);
          pend[s] = P_RETRY_TRADE; pend_p[s] = a; /* applied, reply lost: retried blind */
          printf("MSG: s%d trade item p%d->p%d, coin p%d->p%d: applied, reply lost\n",
                 s, a, b, b, a)
#endif
       fi
    :: else ->                       /* session_lost: reported as failed, nothing applied */
       printf("MSG: s%d trade p%d->p%d: session lost, failed\n", s, a, b);
       REACHED(5, true);
       failed_trade_is_not_applied = 1; I2_ASSERT(failed_trade_is_not_applied);
       trade_refused(s,a,b)
    fi
#endif
  }
}

#ifdef BLIND_RETRY
inline retry_trade(s) {
  atomic {
    pend[s] == P_RETRY_TRADE ->
    h_a = pend_p[s]; h_b = 1 - h_a;
    pend[s] = P_IDLE; pend_p[s] = 0;
    if
    :: FENCED(s,h_a) && FENCED(s,h_b) ->
       ram_trade(s,h_a,h_b); commit_pair(s,h_a,h_b); trade_ok(s,h_a,h_b);
       printf("MSG: s%d blind retry of the trade: ok, acknowledged\n", s)
    :: else ->                       /* reported as failed (session_lost) ... */
       printf("MSG: s%d blind retry of the trade: session lost, reported FAILED\n", s);
       failed_trade_is_not_applied = 0;           /* ... but the first attempt applied */
       I2_ASSERT(failed_trade_is_not_applied);    /* I2: a failed operation never applies */
       trade_refused(s,h_a,h_b)
    fi;
    h_a = 0; h_b = 0
  }
}
#endif

#ifdef TRADE_UNKNOWN_RETRIES
/* The identical request again (same data, same processed ids): fenced and idempotent, so a
   success means the trade is in both records exactly once. Any other answer leaves the outcome
   unknown: both sessions end without writing. (A further unknown is this step later.) */
inline resolve_trade(s) {
  atomic {
    pend[s] == P_RESOLVE_TRADE ->
    h_a = pend_p[s]; h_b = 1 - h_a;
    pend[s] = P_IDLE; pend_p[s] = 0;
    if
    :: FENCED(s,h_a) && FENCED(s,h_b) ->
       ram_trade(s,h_a,h_b); commit_pair(s,h_a,h_b); trade_ok(s,h_a,h_b);
       printf("MSG: s%d retried trade: committed, acknowledged\n", s)
    :: else -> drop(s,h_a); drop(s,h_b);
       printf("MSG: s%d retried trade: session lost, outcome stays unknown; both ended\n", s)
    fi;
    h_a = 0; h_b = 0
  }
}
#endif

#ifdef ACK_EARLY
inline commit_trade(s) {
  atomic {
    pend[s] == P_COMMIT_TRADE ->
    h_a = pend_p[s]; h_b = 1 - h_a;
    pend[s] = P_IDLE; pend_p[s] = 0;
    if
    :: FENCED(s,h_a) && FENCED(s,h_b) -> commit_pair(s,h_a,h_b); trade_ok(s,h_a,h_b);
       printf("MSG: s%d commits the acknowledged trade\n", s)
    :: else ->
       printf("MSG: s%d commit of the acknowledged trade: session lost\n", s);
       acked_trade_is_committed = 0;
       I2_ASSERT(acked_trade_is_committed);       /* I2/I5: acknowledged, never committed */
       trade_refused(s,h_a,h_b)
    fi;
    h_a = 0; h_b = 0
  }
}
#endif

/* ---------------- crash: RAM and the call in progress are lost ---------------- */
/* With one crash the two servers are interchangeable (same start, same code, no property
   names a server), so server 0 takes the crash without losing a behaviour up to renaming. */
#if MAXC == 1
#define CRASH_WHO(s) && (s) == 0
#else
#define CRASH_WHO(s)
#endif
inline crash(s) {
  atomic {
    crashes < MAXC CRASH_WHO(s) ->
    crashes++;
    printf("MSG: s%d CRASHES (RAM lost)\n", s);
#ifdef ACK_EARLY
    acked_trade_is_committed = (pend[s] != P_COMMIT_TRADE);
    I2_ASSERT(acked_trade_is_committed);          /* acknowledged, never committed */
#endif
    pend[s] = P_IDLE; pend_p[s] = 0;
    drop(s,0); drop(s,1)
  }
}

proctype server(byte s) {
end:
  do
  :: acquire(s,0)
  :: acquire(s,1)
  :: cleanup(s)
  :: withdraw(s,0)
  :: withdraw(s,1)
  :: handle(s,TGT,0)
#if NM == 2
  :: handle(s,TGT,1)
#endif
  :: save(s,0,0)
  :: save(s,1,0)
  :: save(s,0,1)
  :: save(s,1,1)
  :: save(s,0,2)
  :: save(s,1,2)
  :: trade(s,0,1)
  :: trade(s,1,0)
#ifdef BLIND_RETRY
  :: retry_save(s)
  :: retry_trade(s)
#endif
#ifdef ACK_EARLY
  :: commit_trade(s)
#endif
#ifdef TRADE_UNKNOWN_RETRIES
  :: resolve_trade(s)
#endif
  :: crash(s)
  od
}

/* ---------------- Send: the grant service; the message id is the dedupe id ---------------- */
inline send(m) {
  atomic {
    m_st[m] != M_ACKED ->
    if
    :: (s_inbox[TGT] & BIT(m)) || (s_proc[TGT] & BIT(m)) ->
       m_st[m] = M_ACKED;                       /* already delivered: false, nothing written */
       printf("MSG: send m%d to p%d: already delivered (false)\n", m, TGT);
       REACHED(6, (s_proc[TGT] & BIT(m)) && s_owner[TGT] != NONE)
    :: else ->
       if
       :: s_inbox[TGT] = s_inbox[TGT] | BIT(m); added[m]++; m_st[m] = M_ACKED;    /* true */
          printf("MSG: send m%d to p%d: delivered (true)\n", m, TGT)
       :: s_inbox[TGT] = s_inbox[TGT] | BIT(m); added[m]++; m_st[m] = M_UNKNOWN;  /* applied,
                                                                   kOutcomeUnknown: re-send */
          printf("MSG: send m%d to p%d: applied, outcome unknown\n", m, TGT)
       /* not applied + kOutcomeUnknown: the same as sending later, no branch needed */
       fi
    fi
  }
}

proctype sender() {
end:
  do
  :: send(0)
#if NM == 2
  :: send(1)
#endif
  od
}

/* ---------------- properties, checked in every reachable state ---------------- */
#define ITEM_ONCE     (s_item[0] + s_item[1] == 1)
#if NM == 2
#define ADDED         (added[0] + added[1])
#define MSGS_OK       (MSG_ONCE(0) && MSG_ACKED(0) && MSG_ONCE(1) && MSG_ACKED(1))
#else
#define ADDED         (added[0])
#define MSGS_OK       (MSG_ONCE(0) && MSG_ACKED(0))
#endif
#define COINS_OK      (s_coins[0] + s_coins[1] + POP2(s_inbox[0]) + POP2(s_inbox[1]) == \
                       INIT_COINS + ADDED)
#define MSG_ONCE(m)   (added[m] <= 1)
#define MSG_ACKED(m)  (m_st[m] != M_ACKED || added[m] == 1)
#define EPOCHS_OK     (s_lc[0] == g_lc[0] && s_lc[1] == g_lc[1])
#ifdef COINS_AT_REST
/* diagnostic: conservation only where no RAM holds handled-but-unsaved messages, so that a
   counterexample shows a record that stays wrong (the session that could repair it is gone) */
#undef COINS_OK
#define COINS_OK (r_hand[0] + r_hand[1] + r_hand[2] + r_hand[3] != 0 || \
                  s_coins[0] + s_coins[1] + POP2(s_inbox[0]) + POP2(s_inbox[1]) == \
                  INIT_COINS + ADDED)
#endif
#define INVARIANT     (ITEM_ONCE && COINS_OK && MSGS_OK && EPOCHS_OK)

proctype monitor() {
end:
  atomic {
    !(INVARIANT) ->
    assert(ITEM_ONCE);        /* I3: the unique item is in exactly one place (stored)         */
    assert(COINS_OK);         /* I3: coins in profiles + inbox == initial + delivered grants;
                                 with MSG_ONCE: every message takes effect at most once        */
    assert(MSG_ONCE(0));      /* a message id is delivered into the inbox at most once         */
    assert(MSG_ACKED(0));     /* I2: an acknowledged message is delivered exactly once         */
#if NM == 2
    assert(MSG_ONCE(1)); assert(MSG_ACKED(1));
#endif
    assert(EPOCHS_OK)         /* I1: epochs never decrease                                     */
  }
}

init {
  atomic {
    s_owner[0] = NONE; s_owner[1] = NONE; s_req[0] = NONE; s_req[1] = NONE;
    s_item[0] = 1; s_coins[1] = INIT_COINS;
    run monitor();
    run sender();
    run server(0);
    run server(1)
  }
}
