/* The estimator table (DESIGN §3): every --method is one file in src/train/
 * with one descriptor, registered in methods.c. The shared trainer
 * (trainer.c) owns what every method needs — the energy network, the data
 * batcher, Adam over the network, the training RNG, a sampler and a replay
 * buffer when the method asks for them — and the run loop (run.c) gives
 * every method the run directory, metrics, sample pictures, divergence
 * guard, signals and bit-exact resume. A method adds only its step and the
 * state that is its own. */
#ifndef EBM_TRAIN_METHOD_H
#define EBM_TRAIN_METHOD_H

#include "ebm.h"
#include "ebm/train.h"

/* What the shared trainer sets up for a method (train_method.needs). */
#define TRAIN_NEEDS_SAMPLER 1u   /* t->sampler on t->energy, for cfg.batch chains */
#define TRAIN_NEEDS_REPLAY 2u    /* t->replay of cfg.buffer_size items, filled with uniform noise */
#define TRAIN_NEEDS_LABELS 4u    /* the data must have labels (t->y_data holds them each step) */
#define TRAIN_ENERGY_NET 8u      /* the network is an energy (one output): t->energy wraps it */
#define TRAIN_SLICED 16u         /* the step works slice by slice (slices.h): cfg.slices > 1 and MPI ranks */
/* The method's model is its own (a flow, built in init from its settings):
 * the run builds and loads no energy network (t->net and t->adam are NULL),
 * the model checkpoint holds only the method's parts, and a resume restores
 * them from the state file. */
#define TRAIN_OWN_MODEL 32u

/* A common setting whose default differs for a method (the common rows'
 * defaults are IGEBM's): its name in the settings table and the value as
 * the setting's text. */
typedef struct {
  const char *name;  /* "lr" */
  const char *value; /* "1e-3" */
} train_common_default;

typedef struct train_method {
  const char *name;            /* the --method value */
  const char *summary;         /* one line for `ebm train --help` */
  unsigned needs;              /* TRAIN_NEEDS_* */
  /* The method's own settings (rows into ebm_train_config), may be empty. */
  const ebm_train_setting *settings;
  int nsettings;
  /* Checks the method's settings (after the common checks); NULL = none. */
  ebm_status (*check)(const ebm_train_config *cfg);
  /* Called by ebm_trainer_new once the shared parts exist (before the
   * sampler, so it may set t->energy to an energy of its own): checks the
   * data and network, builds extra networks (initialised from a stream of
   * train_method_rng), allocates every work array. *state may stay NULL. */
  ebm_status (*init)(ebm_trainer *t, void **state);
  /* One training step; fills stats (zeroed by the caller; step, lr and
   * seconds are set by the caller). Must leave every parameter unchanged
   * when it returns an error. Divergence: EBM_ERR_NUMERIC "diverged at step
   * N: <what>" (train_check_finite, train_divergence). */
  ebm_status (*step)(ebm_trainer *t, void *state, ebm_train_stats *stats);
  /* The method's part of the state file (its own networks, optimisers,
   * buffers, counters), under keys that start with its name; restore checks
   * everything before it changes anything. NULL = nothing of its own. */
  ebm_status (*save)(const ebm_trainer *t, const void *state, ebm_st_writer *w);
  ebm_status (*restore)(ebm_trainer *t, void *state, const ebm_safetensors *st);
  /* Networks saved in the model checkpoint next to the energy network (part
   * "energy"): up to max (names such as "generator", "flow"); returns how
   * many. NULL = the energy alone (a plain checkpoint). */
  int (*parts)(const void *state, const ebm_net **nets, const char **names, int max);
  /* Metadata the model checkpoint needs to read those parts back (a flow's
   * settings): up to max key/value pairs (owned by state); returns how
   * many. NULL = none. */
  int (*meta)(const void *state, const char **keys, const char **values, int max);
  /* The items a sample picture shows (n of them; NULL = the trainer's
   * negatives). */
  const float *(*samples)(const ebm_trainer *t, const void *state, int64_t *n);
  void (*free)(void *state);
  /* Adjusts the recipe that fits the data (ebm_train_recipe_for_data) to
   * the method: the sampler of a method whose chains run in a latent space
   * rather than in the data's box, the learning rate of a method without
   * chains. NULL = the data's recipe as it is. */
  void (*recipe)(const ebm_dataset *ds, ebm_train_config *cfg);
  /* The method's own defaults for common settings (JEM's Adam is not
   * IGEBM's): ebm_train_defaults_for applies them, so they take the place
   * of the IGEBM defaults wherever a run starts from the defaults (the
   * "images" recipe); a flag given still wins and a resumed run keeps its
   * config.json. May be empty. */
  const train_common_default *common_defaults;
  int ncommon_defaults;
} train_method;

/* Applies the `def` text of every settings row that has one (the
 * methods' settings) to cfg: part of ebm_train_defaults. */
void train_apply_setting_defaults(ebm_train_config *cfg);

/* The registered methods (methods.c), by index = ebm_train_method. */
int train_method_count(void);
/* The recipe of architecture preset `arch` (a name, or JSON with a
 * "preset" key) over *cfg (recipe_presets.c): its name, or NULL (cfg
 * untouched) when the preset has none. */
const char *train_preset_recipe(const char *arch, ebm_train_config *cfg);
const train_method *train_method_at(int index);

/* Streams of the run's seed (one per purpose, so adding one never shifts
 * another): 0 initialises the energy network, 1 is the trainer's rng, 2
 * seeds the batcher; a method takes 3 and up for its own networks. */
ebm_rng train_method_rng(const ebm_train_config *cfg, uint64_t stream);

/* The mean of n values, summed in order in double (0 when n is 0): the
 * e_pos / e_neg every method reports. */
double train_mean(const float *v, int64_t n);

/* Divergence helpers. A pass that met NaN/Inf (EBM_ERR_NUMERIC: the
 * network names the layer) becomes "diverged at step N: <what> (<detail>)";
 * other errors pass through. */
ebm_status train_divergence(ebm_status st, int64_t step, const char *what);
/* EBM_ERR_NUMERIC "diverged at step N: <what> is NaN" (or inf, or beyond
 * bound when bound > 0), or EBM_OK when v is usable. */
ebm_status train_check_finite(double v, double bound, int64_t step, const char *what);

/* One Adam step at the scheduled learning rate; a non-finite gradient is a
 * divergence naming `what` ("grad_norm"). */
ebm_status train_adam_step(ebm_adam *adam, float lr, int64_t step, const char *what, double *grad_norm);

/* Batches from `ds` (borrowed; it must outlive the trainer) instead of the
 * trainer's data, same seed and batch: for a method that trains on a view
 * of the data (JEM's labels with some hidden) or on part of it (a
 * continual run's current task). Fresh chains from the data's Gaussian
 * (--init gaussian) then start from a Gaussian fitted to `ds`: a continual
 * run never sees the statistics of tasks still to come. */
ebm_status train_use_data(ebm_trainer *t, const ebm_dataset *ds);

/* A network's parameters and buffers in a state file under "<prefix>.<name>":
 * add them, check they are all there with their shapes (before anything
 * changes), read them. The energy network is "model". */
ebm_status train_save_net(ebm_st_writer *w, ebm_net *net, const char *prefix);
ebm_status train_check_net(const ebm_safetensors *st, ebm_net *net, const char *prefix);
ebm_status train_read_net(const ebm_safetensors *st, ebm_net *net, const char *prefix);

/* Builds a network from an architecture given as a preset name, JSON text
 * or @FILE (the forms of --arch), for batches of max_batch, initialised
 * from rng. `what` names the setting in errors ("--generator"). */
ebm_status train_build_net(const char *arch, int64_t max_batch, ebm_rng *rng, const char *what,
                           ebm_net **out);

#endif
