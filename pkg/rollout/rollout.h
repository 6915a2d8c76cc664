/*
 * rollout: the Rollout resource (rollouts.knit.dev/v1alpha1) as the
 * controller reads it.
 *
 * rollout_parse() turns a Rollout object (JSON as served) into a struct
 * rollout: the spec with every default applied and every rule checked, plus
 * the parts of status, metadata and annotations the planner decides from.
 * The struct borrows nothing: every string and JSON value in it is owned by
 * it and released by rollout_release(). Spec problems do not fail the parse:
 * they are collected as human sentences in `invalid` (each naming the field,
 * "spec.selector: does not match the template's labels"), so the controller
 * can report InvalidSpec and leave live objects alone. Only a document that
 * is not a Rollout at all (no metadata.name, not an object) fails.
 *
 * Also here: the pieces of the API every other module shares -- label,
 * annotation and reason names -- and rollout_build_rs(), which makes the
 * ReplicaSet for one revision.
 */
#ifndef KNIT_ROLLOUT_ROLLOUT_H
#define KNIT_ROLLOUT_ROLLOUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/client.h"

/* The API group, version and resource. */
#define ROLLOUT_GROUP	"knit.dev"
#define ROLLOUT_VERSION "v1alpha1"
#define ROLLOUT_KIND	"Rollout"
extern const struct kube_resource KNIT_ROLLOUTS;

/* On ReplicaSets, their selector, their pods and in managed Services'
 * selectors: the revision's pod-template hash. */
#define LABEL_POD_TEMPLATE_HASH "knit.dev/pod-template-hash"
/* On ReplicaSets: the revision number, "1", "2", ... */
#define ANN_REVISION "knit.dev/revision"
/* On a blue-green ReplicaSet waiting to be scaled down: RFC 3339 UTC time. */
#define ANN_SCALE_DOWN_DEADLINE "knit.dev/scale-down-deadline"
/* On Services Knit manages: "<rollout name>" (which Rollout points them). */
#define ANN_MANAGED_BY "knit.dev/managed-by"
/* Operation requests on a Rollout: any non-empty value; a request is
 * pending while the value differs from status.operations.<field>. */
#define ANN_OP_PROMOTE	    "knit.dev/promote"
#define ANN_OP_PROMOTE_FULL "knit.dev/promote-full"
#define ANN_OP_ABORT	    "knit.dev/abort"
#define ANN_OP_RETRY	    "knit.dev/retry"
#define ANN_CHANGE_CAUSE    "kubernetes.io/change-cause"

/* An int-or-percent ("25%" or 2). */
struct intstr {
	bool percent;
	int value;
};

/* Deployment rounding: surge rounds up, unavailable rounds down; when both
 * come out 0, unavailable becomes 1 (so a rollout can always move).
 * replicas >= 0. */
void intstr_resolve(struct intstr surge, struct intstr unavailable,
		    int replicas, int *max_surge, int *max_unavailable);

enum rollout_strategy {
	STRATEGY_NONE = 0, /* only with `invalid` set */
	STRATEGY_ROLLING,
	STRATEGY_CANARY,
	STRATEGY_BLUEGREEN,
};

enum step_kind {
	STEP_SET_WEIGHT,
	STEP_PAUSE,	       /* duration_s >= 0: timed; < 0: until promoted */
	STEP_SET_CANARY_SCALE, /* one of replicas / weight / match */
	STEP_ANALYSIS,	       /* analysis: blocks until its run succeeds */
};

/* Where an analysis argument's value comes from. */
enum analysis_arg_from {
	ARG_VALUE,	 /* value: a literal */
	ARG_STABLE_HASH, /* valueFrom.podTemplateHashValue: Stable */
	ARG_LATEST_HASH, /* valueFrom.podTemplateHashValue: Latest */
	ARG_FIELD,	 /* valueFrom.fieldRef.fieldPath (in `value`) */
	ARG_SECRET,	 /* valueFrom.secretKeyRef (secret, key) */
};

struct analysis_arg {
	char *name;
	enum analysis_arg_from from;
	char *value; /* VALUE: the literal; FIELD: the field path */
	char *secret, *key;
};

struct analysis_template_ref {
	char *name;
	bool cluster; /* clusterScope: a ClusterAnalysisTemplate */
};

/* An `analysis` block: which templates, with which arguments. */
struct rollout_analysis {
	struct analysis_template_ref *templates;
	size_t n_templates;
	struct analysis_arg *args;
	size_t n_args;
	int starting_step; /* background analysis only; 0 otherwise */
};

struct canary_step {
	enum step_kind kind;
	int weight;	   /* SET_WEIGHT: 0..100 */
	double duration_s; /* PAUSE */
	/* SET_CANARY_SCALE: exactly one of these is set */
	int scale_replicas;		   /* -1 unset */
	int scale_weight;		   /* -1 unset */
	bool scale_match;		   /* matchTrafficWeight: true */
	struct rollout_analysis *analysis; /* ANALYSIS (owned) */
};

struct rollout_spec {
	int replicas;	  /* default 1 */
	json_t *selector; /* spec.selector (owned) */
	json_t *template; /* spec.template (owned) */
	int min_ready_seconds;
	int revision_history_limit;   /* default 10 */
	int progress_deadline_s;      /* default 600 */
	bool progress_deadline_abort; /* default true */
	bool paused;
	char *restart_at; /* RFC 3339 or NULL */
	enum rollout_strategy strategy;
	struct intstr max_surge;       /* rolling and canary: 25% */
	struct intstr max_unavailable; /* rolling and canary: 25% */
	/* canary */
	struct canary_step *steps;
	size_t n_steps;
	char *stable_service; /* NULL when unset */
	char *canary_service;
	struct rollout_analysis *background; /* canary.analysis; NULL: none */
	/* blueGreen */
	char *active_service;
	char *preview_service;
	bool auto_promotion_enabled;		 /* default true */
	int auto_promotion_seconds;		 /* 0: at once */
	int preview_replica_count;		 /* -1: spec.replicas */
	int scale_down_delay_seconds;		 /* default 30 */
	struct rollout_analysis *pre_promotion;	 /* NULL: none */
	struct rollout_analysis *post_promotion; /* NULL: none */
};

/* The part of status the planner decides from (what it last decided). */
struct rollout_decisions {
	char *current_pod_hash; /* NULL before the first reconcile */
	char *stable_rs;	/* hash of the stable revision, or NULL */
	int current_step_index; /* canary; -1 when absent */
	char *step_hash;	/* hash of spec.strategy.canary.steps */
	double pause_start;	/* wall seconds; 0: not in a pause */
	char *pause_reason;	/* CanaryPauseStep, BlueGreenPause, ... */
	bool abort;
	double aborted_at;
	bool promote_full;
	int collision_count;
	double available_since;	      /* blue-green preview became available */
	double last_progress;	      /* wall seconds of the last progress */
	double restarted_at;	      /* the restartAt already carried out */
	int canary_replicas_override; /* setCanaryScale replicas; -1 none */
	int canary_weight_override;   /* setCanaryScale weight; -1 none */
	int attempt;   /* status.attempt: +1 per retry; default 1 */
	bool switched; /* status.blueGreen.switched: active points at
			  the new revision while post-promotion
			  analysis runs */
	/* status.operations: the last handled value of each request */
	char *op_promote, *op_promote_full, *op_abort, *op_retry;
};

/* An operation a user asked for through an annotation, not yet handled. */
enum rollout_op {
	OP_NONE = 0,
	OP_ABORT,
	OP_RETRY,
	OP_PROMOTE_FULL,
	OP_PROMOTE,
};

struct rollout_request {
	enum rollout_op op;
	char *value;   /* the annotation's value (to acknowledge) */
	char *manager; /* field manager that set it, from managedFields; may
			  be NULL */
	char *time;    /* when, from managedFields; may be NULL */
};

struct rollout {
	char *ns, *name, *uid, *resource_version;
	long generation;
	struct rollout_spec spec;
	char **invalid; /* InvalidSpec sentences; n_invalid of them */
	size_t n_invalid;
	struct rollout_decisions st;
	json_t *status; /* the whole status as served (owned; {} if none) */
	/* pending requests, in the order they are handled: abort, retry,
	 * promote-full, promote */
	struct rollout_request requests[4];
	size_t n_requests;
	/* who changed spec.template last (managedFields) and why
	 * (kubernetes.io/change-cause); NULL when unknown */
	char *template_manager, *template_time, *change_cause;
	/* rollout_template_hash(spec.template, st.collision_count), computed
	 * once by rollout_parse(); "" without a template */
	char template_hash[16];
};

/* Parses `obj` into `out` (zeroed first). Returns 0, or ERR_PARSE with a
 * message in err when `obj` is not a Rollout object at all. */
int rollout_parse(const json_t *obj, struct rollout *out, char *err,
		  size_t errlen);
void rollout_release(struct rollout *r);

/*
 * A new ReplicaSet (new reference) for revision `revision` of `r` whose
 * template hashes to `hash`: name "<rollout>-<hash>", namespace, labels of
 * the template plus LABEL_POD_TEMPLATE_HASH on itself, its selector and its
 * pod template, ANN_REVISION, a controller ownerReference to the Rollout
 * (blockOwnerDeletion), minReadySeconds, and `replicas`.
 */
json_t *rollout_build_rs(const struct rollout *r, const char *hash,
			 long revision, int replicas);

/*
 * The revision name of a pod template: FNV-32a over the template's JSON
 * (object keys sorted, compact), then over collision_count as 4
 * little-endian bytes when it is > 0, written in Kubernetes' safe alphabet
 * ("bcdfghjklmnpqrstvwxz2456789", like a pod-template-hash: at most 10
 * characters). `out` gets a NUL-terminated string.
 */
void rollout_template_hash(const json_t *template, int collision_count,
			   char out[16]);
/* The same hash over any JSON value (the canary steps, to notice edits). */
void rollout_json_hash(const json_t *value, char out[16]);

/* Images of a pod template, "a, b" (new string; "" when none). */
char *rollout_template_images(const json_t *template);

#endif
