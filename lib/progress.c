/*
 * The getters of tnn_progress, what tnn_model_fit() shows its callbacks.
 */
#include <math.h>

#include "internal.h"

int tnn_progress_event(const tnn_progress *p)
{
    return p ? p->event : 0;
}

int tnn_progress_epoch(const tnn_progress *p)
{
    return p ? p->epoch : 0;
}

int tnn_progress_epochs(const tnn_progress *p)
{
    return p ? p->epochs : 0;
}

size_t tnn_progress_batch(const tnn_progress *p)
{
    return p ? p->batch : 0;
}

size_t tnn_progress_batches(const tnn_progress *p)
{
    return p ? p->batches : 0;
}

double tnn_progress_loss(const tnn_progress *p)
{
    return p ? p->loss : NAN;
}

double tnn_progress_accuracy(const tnn_progress *p)
{
    return p ? p->accuracy : NAN;
}

double tnn_progress_val_loss(const tnn_progress *p)
{
    return p ? p->val_loss : NAN;
}

double tnn_progress_val_accuracy(const tnn_progress *p)
{
    return p ? p->val_accuracy : NAN;
}

double tnn_progress_seconds(const tnn_progress *p)
{
    return p ? p->seconds : NAN;
}

tnn_model *tnn_progress_model(const tnn_progress *p)
{
    return p ? p->model : NULL;
}
