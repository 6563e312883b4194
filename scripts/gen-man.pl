#!/usr/bin/perl
# gen-man.pl - section 3 manual pages for libtinynn from its public headers.
#
# Copyright (c) 2026 the libtinynn authors. MIT licence, see LICENSE.
#
# Usage, from the repository root:  perl scripts/gen-man.pl OUTDIR
#
# Writes OUTDIR/<function>.3 for every function declared with TNN_API in
# include/tinynn.h or TNN_MPI_API in include/tinynn_mpi.h, and the overview
# pages OUTDIR/libtinynn.3 and OUTDIR/tinynn_mpi.3 from the templates in
# docs/man/. Core Perl only (perl-base), and the output depends on nothing
# but the input files, so that two runs give the same bytes.
#
# What the script relies on in the headers:
#  - A section starts with a three-line banner: a rule of dashes, the title
#    (optionally "(since X.Y)" at its right), and another rule.
#  - A comment that starts in column 0 and is followed without a blank line
#    by declarations documents all of them: the declarations up to the next
#    blank line form one group, each of whose functions gets a page with the
#    group's whole synopsis and the comment as its description. A comment
#    followed by a blank line is a note on its section.
#  - A comment may start with "(since X.Y)"; that goes to HISTORY. The
#    version scripts (lib/*.map), when present, are the authority on the
#    version that added a function, since the comments do not always say.
#  - In a comment, a blank line separates paragraphs, "- " starts a list
#    item whose continuation lines are indented, and lines indented beyond
#    the text around them are code.

use strict;
use warnings FATAL => 'all';    # a warning means a page is wrong: stop
use File::Path qw(make_path);

my $COPYRIGHT = 'Copyright (c) 2026 the libtinynn authors. MIT licence, see LICENSE.';
my $MANUAL    = 'libtinynn Manual';
my $WIDTH     = 78;    # wrap source lines of running text here (mandoc: 80)
my $NAME_WIDTH = 72;   # "name - whatis" fits one line of an 80-column page

# The two headers and what differs between their pages.
my @HEADERS = (
    {
        path      => 'include/tinynn.h',
        include   => 'tinynn.h',
        macro     => 'TNN_API',
        version   => 'TNN_VERSION_',
        package   => 'libtinynn',
        overview  => 'libtinynn',
        template  => 'docs/man/libtinynn.3.in',
        map       => 'lib/libtinynn.map',
        map_node  => 'TINYNN_',
        link      => [ 'Link with \fI\-ltinynn\fP,',
                       'or with the flags of \fIpkg\-config \-\-cflags \-\-libs tinynn\fP.' ],
    },
    {
        path      => 'include/tinynn_mpi.h',
        include   => 'tinynn_mpi.h',
        macro     => 'TNN_MPI_API',
        version   => 'TNN_MPI_VERSION_',
        package   => 'libtinynn-mpi',
        overview  => 'tinynn_mpi',
        template  => 'docs/man/tinynn_mpi.3.in',
        map       => 'lib/mpi/libtinynn-mpi.map',
        map_node  => 'TINYNN_MPI_',
        link      => [ 'Link with \fI\-ltinynn\-mpi \-ltinynn\fP and the MPI library',
                       '(\fImpicc\fP does),',
                       'or with the flags of \fIpkg\-config \-\-cflags \-\-libs tinynn\-mpi\fP.' ],
    },
);

# Whatis lines (NAME, and the lists of the overview pages) for functions
# whose comment does not open with a sentence that summarises that one
# function: the comment continues the one before it ("The same from size
# bytes at data"), states a constraint ("Momentum in [0, 1)") or a formula
# ("Step schedule: lr_t = ..."), or is shared by functions that do
# different things (a setter and its getter, relu/sigmoid/tanh). A whatis
# for a function no header declares is an error, so the table cannot go
# stale silently. The other functions' lines come from their comments.
my %WHATIS = (
    tnn_version_number           => 'version number of the library actually loaded',
    tnn_version_string           => 'version string of the library actually loaded',
    tnn_set_allocator            => 'use the caller\'s allocator for every allocation',
    tnn_set_num_threads          => 'set the number of threads the library computes on',
    tnn_get_num_threads          => 'number of threads the library computes on',
    tnn_rng_get_state            => 'copy out the whole state of a generator',
    tnn_rng_set_state            => 'restore the whole state of a generator',
    tnn_tensor_rand_uniform      => 'fill a tensor with uniform random values',
    tnn_tensor_rand_normal       => 'fill a tensor with normal random values',
    tnn_tensor_is_shared         => 'whether a tensor shares its storage',
    tnn_tensor_shuffle_rows      => 'shuffle the rows of one or two tensors',
    tnn_dense_new                => 'new fully connected layer',
    tnn_dense_set_init           => 'choose the weight initialiser of a dense layer',
    tnn_relu_new                 => 'new ReLU activation layer',
    tnn_sigmoid_new              => 'new logistic sigmoid activation layer',
    tnn_tanh_new                 => 'new hyperbolic tangent activation layer',
    tnn_softmax_new              => 'new softmax activation layer',
    tnn_identity_new             => 'new identity activation layer',
    tnn_leaky_relu_new           => 'new leaky ReLU activation layer',
    tnn_dropout_new              => 'new inverted dropout layer',
    tnn_batchnorm_new            => 'new batch normalisation layer',
    tnn_batchnorm_set_momentum   => 'set the momentum of a batch-norm layer',
    tnn_batchnorm_momentum       => 'momentum of a batch-norm layer',
    tnn_batchnorm_set_eps        => 'set the epsilon of a batch-norm layer',
    tnn_batchnorm_eps            => 'epsilon of a batch-norm layer',
    tnn_batchnorm_running_mean   => 'running mean of a batch-norm layer',
    tnn_batchnorm_running_var    => 'running variance of a batch-norm layer',
    tnn_conv2d_new               => 'new 2-D convolution layer',
    tnn_conv2d_set_init          => 'choose the weight initialiser of a conv2d layer',
    tnn_maxpool2d_new            => 'new 2-D max pooling layer',
    tnn_avgpool2d_new            => 'new 2-D average pooling layer',
    tnn_zeropad2d_new            => 'new zero padding layer for images',
    tnn_flatten_new              => 'new layer flattening images into rows',
    tnn_layer_kind               => 'kind of a layer',
    tnn_layer_name               => 'name of a layer\'s kind',
    tnn_layer_in_features        => 'input width of a layer',
    tnn_layer_out_features       => 'output width of a layer',
    tnn_layer_num_params         => 'number of parameter tensors of a layer',
    tnn_layer_param              => 'parameter tensor of a layer',
    tnn_layer_grad               => 'gradient tensor of a layer parameter',
    tnn_layer_set_trainable      => 'freeze or unfreeze the parameters of a layer',
    tnn_layer_trainable          => 'whether a layer\'s parameters are trained',
    tnn_layer_init               => 're-initialise the parameters of a layer',
    tnn_layer_forward            => 'run a layer alone on a batch',
    tnn_loss_mse                 => 'mean squared error loss and its gradient',
    tnn_loss_cross_entropy       => 'softmax cross-entropy loss and its gradient',
    tnn_loss_mae                 => 'mean absolute error loss and its gradient',
    tnn_loss_huber               => 'Huber loss and its gradient',
    tnn_loss_binary_cross_entropy => 'binary cross-entropy loss on logits',
    tnn_sgd_new                  => 'new stochastic gradient descent optimizer',
    tnn_sgd_set_momentum         => 'set the momentum of an SGD optimizer',
    tnn_sgd_set_nesterov         => 'turn Nesterov momentum on or off',
    tnn_adam_new                 => 'new Adam optimizer',
    tnn_adam_set_betas           => 'set the moment decay rates of an Adam optimizer',
    tnn_adam_set_eps             => 'set the epsilon of an Adam optimizer',
    tnn_optim_set_weight_decay   => 'set the weight decay of an optimizer',
    tnn_optim_weight_decay       => 'weight decay of an optimizer',
    tnn_adam_set_decoupled       => 'choose decoupled (AdamW) weight decay',
    tnn_optim_set_decay_all      => 'choose the parameters weight decay applies to',
    tnn_optim_set_lr             => 'set the base learning rate of an optimizer',
    tnn_optim_lr                 => 'base learning rate of an optimizer',
    tnn_optim_set_step_schedule  => 'decay the learning rate in steps',
    tnn_optim_set_cosine_schedule => 'decay the learning rate on a cosine',
    tnn_optim_set_clip_value     => 'clamp each gradient value before the update',
    tnn_optim_clip_value         => 'gradient value clipping bound of an optimizer',
    tnn_optim_set_clip_norm      => 'scale gradients down to a maximum L2 norm',
    tnn_optim_clip_norm          => 'gradient norm clipping bound of an optimizer',
    tnn_model_add                => 'append a layer to a model, taking ownership',
    tnn_model_insert             => 'insert a layer into a model',
    tnn_model_replace            => 'replace a layer of a model',
    tnn_model_num_layers         => 'number of layers of a model',
    tnn_model_layer              => 'layer of a model by index',
    tnn_model_in_features        => 'input width of a model',
    tnn_model_out_features       => 'output width of a model',
    tnn_model_summary            => 'table of a model\'s layers, shapes and parameters',
    tnn_model_rng                => 'random generator of a model',
    tnn_model_set_loss           => 'choose the loss a model trains and evaluates with',
    tnn_model_set_huber_delta    => 'set the threshold of a model\'s Huber loss',
    tnn_model_huber_delta        => 'threshold of a model\'s Huber loss',
    tnn_model_optim              => 'optimizer of a model',
    tnn_model_set_mode           => 'set the mode of a model\'s forward pass',
    tnn_model_mode               => 'mode of a model\'s forward pass',
    tnn_model_set_check_finite   => 'check that training keeps values finite',
    tnn_model_set_max_sample_values => 'bound a model\'s memory per sample',
    tnn_model_max_sample_values  => 'bound on a model\'s memory per sample',
    tnn_model_train_batch        => 'one training step on a batch',
    tnn_model_compute_gradients  => 'gradients of a model\'s loss on a batch',
    tnn_model_apply_gradients    => 'update the parameters from their gradients',
    tnn_model_set_allreduce      => 'sum gradients over replicas through a hook',
    tnn_model_set_shard          => 'train and evaluate a replica\'s slice of each batch',
    tnn_model_set_sync_batchnorm => 'batch-norm statistics over all replicas',
    tnn_model_fit                => 'train a model for a number of epochs',
    tnn_model_evaluate           => 'loss and accuracy of a model on a data set',
    tnn_model_predict            => 'outputs of a model for a batch, in evaluation mode',
    tnn_progress_event           => 'event a training callback is called for',
    tnn_progress_epoch           => 'current epoch of a training run',
    tnn_progress_epochs          => 'number of epochs of a training run',
    tnn_progress_batch           => 'current batch of a training epoch',
    tnn_progress_batches         => 'number of batches of a training epoch',
    tnn_progress_loss            => 'running mean loss of a training epoch',
    tnn_progress_accuracy        => 'running mean accuracy of a training epoch',
    tnn_progress_val_loss        => 'validation loss at the end of an epoch',
    tnn_progress_val_accuracy    => 'validation accuracy at the end of an epoch',
    tnn_progress_seconds         => 'time since the current epoch started',
    tnn_progress_model           => 'model being trained, from a callback',
    tnn_callbacks_new            => 'new empty list of training callbacks',
    tnn_callbacks_add_early_stopping => 'append an early stopping callback',
    tnn_callbacks_add_reduce_lr  => 'append a plateau learning-rate reducer',
    tnn_callbacks_stopped_epoch  => 'epoch at which early stopping ended a fit',
    tnn_idx_load_buffer          => 'read an IDX image of unsigned bytes from memory',
    tnn_csv_load_buffer          => 'read a numeric CSV table from memory',
    tnn_scaler_fit               => 'learn a standardiser from a tensor',
    tnn_scaler_features          => 'number of features of a standardiser',
    tnn_scaler_mean              => 'per-feature means of a standardiser',
    tnn_scaler_scale             => 'per-feature scales of a standardiser',
    tnn_scaler_transform         => 'standardise a tensor in place',
    tnn_scaler_inverse           => 'undo the standardisation of a tensor in place',
    tnn_scaler_save              => 'save a standardiser to a file',
    tnn_scaler_load              => 'read a standardiser from a file',
    tnn_predicted_classes        => 'predicted class of each row of scores',
    tnn_top_k_accuracy           => 'fraction of rows whose label is in the top k scores',
    tnn_class_scores             => 'per-class precision, recall, F1 and support',
    tnn_precision                => 'averaged precision of a confusion matrix',
    tnn_recall                   => 'averaged recall of a confusion matrix',
    tnn_f1_score                 => 'averaged F1 score of a confusion matrix',
    tnn_mean_absolute_error      => 'mean absolute error of predictions',
    tnn_root_mean_squared_error  => 'root mean squared error of predictions',
    tnn_r2_score                 => 'coefficient of determination of predictions',
    tnn_model_save               => 'write a model to a file',
    tnn_model_save_buffer        => 'write a model file image into memory',
    tnn_model_load               => 'read a model from a file',
    tnn_model_load_buffer        => 'read a model file image from memory',
    tnn_model_load_onnx          => 'read an ONNX model from a file',
    tnn_model_load_onnx_buffer   => 'read an ONNX model from memory',
    tnn_model_save_onnx          => 'write a model as an ONNX file',
    tnn_model_save_onnx_buffer   => 'write an ONNX model into memory',
    tnn_mpi_rank                 => 'rank of this process in an attachment',
    tnn_mpi_size                 => 'number of ranks of an attachment',
    tnn_mpi_check                => 'check that every rank holds the same model',
    tnn_mpi_fit                  => 'train an attached model on every rank',
);

# Parameter names that are also ordinary words of the comments ("the loss",
# "in [0, 1)"): they stay roman in running text, where setting them in
# italics would mark the word and not the parameter.
my %PLAIN_WORDS = map { $_ => 1 } qw(
    accuracy all average bottom callback classes code count data delta
    features first flags index init labels layer left list loss message
    mode model momentum monitor on out padding path patience precision
    progress rate recall right scores seed shuffle size state stream
    target targets top trainable user value values in decoupled nesterov
    comm func capacity counts factor epochs rows cols slope grad mean
    scaler replica scale lambda
);

# What follows such a word when it does stand for the parameter: "shuffle
# is 1", "callback (may be NULL)", "delta (finite, > 0)", "count >= 1".
my $PARAM_USE = qr/^(?:\s+is\s+(?:NULL|0|1|given)\b|\s+\((?:may be|finite|>|>=|<|in)\b|\s+(?:[<>!=]=?|must)\s)/;

# Words after which a summary may not stop, and before which it may.
my $PREPOSITION = qr/(?:about|against|as|at|by|for|from|in|into|of|on|over|through|to|with)/;

main(@ARGV);

sub main {
    my ($outdir) = @_;
    die "usage: perl scripts/gen-man.pl OUTDIR\n" unless defined $outdir && @_ == 1;
    make_path($outdir);
    my $date = release_date('CHANGELOG.md');
    my (%all, @headers);
    for my $cfg (@HEADERS) {
        my $h = parse_header($cfg);
        $h->{date} = $date;
        push @headers, $h;
    }
    # Types, enums and constants of both headers, for cross-references
    # (tinynn_mpi.h uses tnn_fit_callback from tinynn.h).
    my %symbols;
    for my $h (@headers) {
        %symbols = (%symbols, %{ $h->{symbols} });
        $all{$_} = $h for map { @{ $_->{funcs} } } map { @{ $_->{groups} } } @{ $h->{sections} };
    }
    check_whatis_table(\%all);
    for my $h (@headers) {
        assign_history($h);
        for my $s (@{ $h->{sections} }) {
            for my $g (@{ $s->{groups} }) {
                write_file("$outdir/$_.3", function_page($h, $s, $g, $_, \%all, \%symbols))
                    for @{ $g->{funcs} };
            }
        }
        write_file("$outdir/$h->{overview}.3", overview_page($h, \%all));
    }
    return;
}

# ---------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------

sub read_lines {
    my ($path) = @_;
    open my $fh, '<', $path or die "gen-man: cannot read $path: $!\n";
    my @lines = <$fh>;
    close $fh;
    chomp @lines;
    return @lines;
}

sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "gen-man: cannot write $path: $!\n";
    print {$fh} $text or die "gen-man: cannot write $path: $!\n";
    close $fh or die "gen-man: cannot write $path: $!\n";
    return;
}

# The newest release's date: the first "## [x.y.z] - YYYY-MM-DD" line.
sub release_date {
    my ($path) = @_;
    for (read_lines($path)) {
        return $1 if /^## \[\d+\.\d+\.\d+\] - (\d{4}-\d\d-\d\d)\s*$/;
    }
    die "gen-man: no released version in $path\n";
}

# Version node of every symbol in a version script, e.g. tnn_model_pop =>
# "1.7" from TINYNN_1.7; empty when the script is not there (the headers
# alone, outside the source tree).
sub read_version_map {
    my ($path, $prefix) = @_;
    return {} unless -f $path;
    my (%since, $node);
    for (read_lines($path)) {
        if (/^\Q$prefix\E(\d+\.\d+)\s*\{/) { $node = $1; next }
        $since{$1} = $node if defined $node && /^\s+(tnn_\w+);/;
    }
    return \%since;
}

# ---------------------------------------------------------------------------
# Header parsing
# ---------------------------------------------------------------------------

sub is_rule { return $_[0] =~ m{^/\* -{20,} \*/$} }

sub parse_header {
    my ($cfg) = @_;
    my @lines = read_lines($cfg->{path});
    my %h = (%$cfg, sections => [], symbols => {});
    $h{version_string} = join '.', map { define_value(\@lines, "$cfg->{version}$_") } qw(MAJOR MINOR PATCH);
    my $section = new_section('', undef);
    push @{ $h{sections} }, $section;
    my $i = 0;
    my $first_comment = 1;
    while ($i < @lines) {
        my $line = $lines[$i];
        if (is_rule($line) && $i + 2 < @lines && is_rule($lines[$i + 2])) {
            my ($title, $since) = banner_title($lines[$i + 1]);
            $section = new_section($title, $since);
            push @{ $h{sections} }, $section;
            $i += 3;
            next;
        }
        if ($line !~ /\S/) { $i++; next }
        my @comment;
        if ($line =~ m{^/\*}) {
            ($i, @comment) = read_comment(\@lines, $i);
        }
        my @code;
        while ($i < @lines && $lines[$i] =~ /\S/ && $lines[$i] !~ m{^/\*}) {
            push @code, $lines[$i++];
        }
        if ($first_comment && @comment) {
            $first_comment = 0;    # the file's own comment: the template says it
            next;
        }
        $first_comment = 0;
        add_chunk(\%h, $section, \@comment, \@code);
    }
    @{ $h{sections} } = grep { @{ $_->{groups} } } @{ $h{sections} };
    die "gen-man: no $cfg->{macro} functions in $cfg->{path}\n" unless @{ $h{sections} };
    return \%h;
}

sub new_section {
    my ($title, $since) = @_;
    return { title => $title, since => $since, groups => [], notes => [] };
}

sub define_value {
    my ($lines, $name) = @_;
    for (@$lines) { return $1 if /^#define \Q$name\E\s+(\d+)\s*$/ }
    die "gen-man: no #define $name\n";
}

# "/* Models            (since 1.1)     */" => ("Models", "1.1")
sub banner_title {
    my ($line) = @_;
    my ($text) = $line =~ m{^/\*\s*(.*?)\s*\*/$} or die "gen-man: bad banner: $line\n";
    my $since;
    $since = $1 if $text =~ s/\s*\(since (\d+\.\d+)\)\s*$//;
    return ($text, $since);
}

# Read the comment starting at line $i; returns the index after it and its
# lines with the comment markers removed and the indentation kept, relative
# to the column where the text of "/* text" starts.
sub read_comment {
    my ($lines, $i) = @_;
    my @out;
    while (1) {
        die "gen-man: unterminated comment\n" if $i >= @$lines;
        my $l = $lines->[$i++];
        my $end = $l =~ s{\s*\*/\s*$}{};
        if (@out == 0) { $l =~ s{^/\*\s?}{} }
        else           { $l =~ s{^ \*(?: |$)}{} or $l =~ s{^\s*\*\s?}{} }
        push @out, $l;
        last if $end;
    }
    pop @out while @out && $out[-1] !~ /\S/;
    return ($i, @out);
}

# A comment with the code right below it: a group of declarations (or, with
# no function among them, a documented type or constant). A comment alone is
# a note on the section. A sub-heading ("/* ---- Images (since 1.3) ----")
# goes on no page: where its part of the section ends is not marked, and
# groups after it belong to it or not.
sub add_chunk {
    my ($h, $section, $comment, $code) = @_;
    return if @$comment && $comment->[0] =~ /^----.*----\s*$/;
    my @stmts = split_statements($code);
    my (@funcs, @decls);
    for my $st (@stmts) {
        my $d = parse_statement($h, $st);
        next unless $d;
        push @decls, $d;
        push @funcs, $d->{name} if $d->{kind} eq 'func';
    }
    if (!code_nonempty($code)) {
        push @{ $section->{notes} }, [@$comment] if @$comment;
        return;
    }
    if (!@funcs) {
        # A documented type, enum or constant: kept for the pages that use it.
        for my $d (@decls) {
            $d->{comment} = [@$comment] if @$comment;
            $d->{order}   = $h->{order}++;
            $h->{symbols}{ $d->{name} } = $d;
        }
        return;
    }
    die "gen-man: $h->{path}: no comment above $funcs[0]\n" unless @$comment;
    push @{ $section->{groups} }, {
        comment => [@$comment],
        decls   => \@decls,
        funcs   => \@funcs,
        section => $section,
    };
    return;
}

sub code_nonempty { return grep { /\S/ } @{ $_[0] } }

# Split code lines into statements: preprocessor lines (with their
# continuations) and C declarations up to the ';' that ends them.
sub split_statements {
    my ($code) = @_;
    my (@stmts, @cur, $pp);
    for my $l (@$code) {
        next if !@cur && $l =~ /^(?:extern "C" \{|\})\s*$/;    # C++ guards
        if (!@cur && $l =~ /^\s*#/) { $pp = 1 }
        push @cur, $l;
        my $text = join "\n", @cur;
        if ($pp) {
            next if $l =~ /\\$/;
        }
        else {
            (my $bare = $text) =~ s{/\*.*?\*/}{}gs;
            next unless $bare =~ /;\s*$/ && ($bare =~ tr/{//) == ($bare =~ tr/}//);
        }
        push @stmts, $text;
        @cur = ();
        $pp  = 0;
    }
    die "gen-man: unterminated declaration: @cur\n" if @cur;
    return @stmts;
}

# One statement => { kind => func|define|typedef|enum, name, text, ... }.
sub parse_statement {
    my ($h, $st) = @_;
    my $macro = $h->{macro};
    if ($st =~ /^\Q$macro\E\s+(.*)$/s) {
        my $decl = squash($1);
        my ($name) = $decl =~ /(\w+)\s*\(/ or die "gen-man: cannot parse: $decl\n";
        return { kind => 'func', name => $name, text => $decl };
    }
    if ($st =~ /^#define\s+(\w+)(\(?)/) {
        my ($name, $is_macro) = ($1, $2);
        return undef if $is_macro || $st =~ /\\$/m || $name eq $macro;
        return { kind => 'define', name => $name, text => squash($st) };
    }
    if ($st =~ /^#/) { return undef }
    if ($st =~ /^typedef\b/) {
        my $text = squash($st);
        my ($name) = $text =~ /\(\s*\*\s*(\w+)\s*\)/;
        ($name) = $text =~ /(\w+)\s*;$/ unless $name;
        my $fnptr = $text =~ /\(\s*\*/ ? 1 : 0;
        return { kind => 'typedef', name => $name, text => $text, fnptr => $fnptr };
    }
    if ($st =~ /^enum\s+(\w+)\s*\{(.*)\}\s*;\s*$/s) {
        return { kind => 'enum', name => $1, members => [ parse_enum_body($2) ] };
    }
    return undef;
}

# Collapse a declaration onto one line, comments removed.
sub squash {
    my ($s) = @_;
    $s =~ s{/\*.*?\*/}{}gs;
    $s =~ s/\s+/ /g;
    $s =~ s/\( /(/g;
    $s =~ s/ \)/)/g;
    $s =~ s/^ | $//g;
    return $s;
}

# Members of an enum with their comments: a comment on the member's line,
# after it, or the comment right above it; a comment that is followed by
# another comment documents no member and is kept as a note on the enum.
sub parse_enum_body {
    my ($body) = @_;
    my (@members, @pending);
    while ($body =~ m{\G(\s*)(/\*.*?\*/|[A-Z][A-Z0-9_]*\s*(?:=\s*[^,/\n]+?)?\s*(?:,|(?=\s*(?:/\*|$))))}gsc) {
        my ($space, $tok) = ($1, $2);
        if ($tok =~ m{^/\*}) {
            my $text = comment_text($tok);
            if (@members && $space !~ /\n/ && !defined $members[-1]{comment}) {
                $members[-1]{comment} = $text;    # trailing, same line
            }
            else {
                push @pending, $text;
            }
            next;
        }
        my ($name, $value) = $tok =~ /^(\w+)\s*(?:=\s*(.*?))?\s*,?$/;
        my $m = { name => $name, value => $value };
        if (@pending) {
            $m->{comment} = pop @pending;
            $m->{notes}   = [@pending];
            @pending      = ();
        }
        push @members, $m;
    }
    return @members;
}

# The text of an inline comment, as one string of words.
sub comment_text {
    my ($c) = @_;
    $c =~ s{^/\*\s*}{};
    $c =~ s{\s*\*/$}{};
    $c =~ s{\n\s*\*\s?}{\n}g;
    $c =~ s/\s+/ /g;
    return $c;
}

# ---------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------

# The version that added each function: the version script's node when the
# script is there, else a leading "(since X.Y)" of the comment, else the
# section's banner, else 1.0.
sub assign_history {
    my ($h) = @_;
    my $map = read_version_map($h->{map}, $h->{map_node});
    for my $s (@{ $h->{sections} }) {
        for my $g (@{ $s->{groups} }) {
            my ($since) = $g->{comment}[0] =~ /^\(since (\d+\.\d+)\)/;
            $since //= $s->{since} // '1.0';
            $g->{since}{$_} = $map->{$_} // $since for @{ $g->{funcs} };
        }
    }
    return;
}

# ---------------------------------------------------------------------------
# Comment text to blocks
# ---------------------------------------------------------------------------

# Blocks of a comment: { type => 'para'|'item'|'code', lines => [...] }.
# A paragraph line that ends a sentence or a lead-in (":") well before the
# width the comment is filled to was broken on purpose; it is kept as a
# paragraph break (after ".") or a line break (after ":" or "e.g.").
sub comment_blocks {
    my (@lines) = @_;
    my (@blocks, $cur, $item_indent);
    my $close = sub { push @blocks, $cur if $cur; $cur = undef };
    for my $i (0 .. $#lines) {
        my $l = $lines[$i];
        if ($l !~ /\S/) { $close->(); next }
        my ($indent, $text) = $l =~ /^(\s*)(.*?)\s*$/;
        $indent = length $indent;
        if ($text =~ /^- (.*)/ && $indent == 0) {
            $close->();
            $cur = { type => 'item', lines => [$1] };
            $item_indent = 2;
        }
        elsif ($cur && $cur->{type} eq 'item' && $indent >= $item_indent) {
            push @{ $cur->{lines} }, $text;
        }
        elsif ($indent > 0) {
            $close->() if $cur && $cur->{type} ne 'code';
            $cur ||= { type => 'code', lines => [] };
            push @{ $cur->{lines} }, $l =~ s/\s+$//r;
        }
        else {
            $close->() if $cur && $cur->{type} ne 'para';
            $cur ||= { type => 'para', lines => [] };
            push @{ $cur->{lines} }, $text;
            my $next = $lines[ $i + 1 ];
            if (defined $next && $next =~ /^(\S+)/ && $1 ne '-'
                && length($text) + 1 + length($1) <= 68) {
                if ($text =~ /(?:e\.g\.|:)$/) { push @{ $cur->{lines} }, "\n" }
                elsif ($text =~ /\.$/)        { $close->() }
            }
        }
    }
    $close->();
    # Code blocks keep their indentation relative to their least indented line.
    for my $blk (grep { $_->{type} eq 'code' } @blocks) {
        my ($min) = sort { $a <=> $b } map { /^(\s*)/; length $1 } @{ $blk->{lines} };
        $_ = substr($_, $min) for @{ $blk->{lines} };
    }
    return @blocks;
}

# ---------------------------------------------------------------------------
# Roff output
# ---------------------------------------------------------------------------

# Mark with \x01 the hyphens that are minus signs or dashes of options:
# every hyphen except one inside a hyphenated word ("row-major", "1-D",
# "UTF-8"); in quoted strings every hyphen, since those are literal text.
sub mark_minus {
    my ($s) = @_;
    my $out = '';
    for my $part (split /("[^"\n]*")/, $s) {
        if ($part =~ /^"/) { $part =~ tr/-/\x01/; $out .= $part; next }
        $part =~ s/(?<![A-Za-z0-9])-|-(?![A-Za-z0-9])/\x01/g;
        $part =~ s/(?<=\d[eE])-(?=\d)/\x01/g;        # 1e-7
        $part =~ s/(?<=\d)-(?=\d)/\x01/g;            # ranges as 2-4 read as minus
        $out .= $part;
    }
    return $out;
}

# Escape running text for roff and set its fonts: functions and constants in
# bold, types, parameters ($ctx->{params}) and file names in italics;
# $ctx->{plain} only escapes (for NAME, which mandb reads).
sub roff_line {
    my ($s, $ctx) = @_;
    my $out = '';
    while ($s =~ /\G(?:(docs\/[\w.\/]+\.md|include\/[\w.]+\.h)|(TNN_[A-Z0-9_]*\*)|([*&]?)([A-Za-z_][A-Za-z0-9_]*)(\(\))?|(.))/gs) {
        my ($path, $pattern, $star, $word, $call, $char) = ($1, $2, $3, $4, $5, $6);
        my ($before, $after) = (substr($s, 0, $-[0]), substr($s, $+[0]));
        if (defined $char) { $out .= esc($char); next }
        if ($ctx->{plain}) { $out .= esc($path // $pattern // $star . $word . ($call // '')); next }
        if (defined $path)    { $out .= '\fI\%' . esc($path) . '\fP'; next }
        if (defined $pattern) { $out .= "\\fB\\%$pattern\\fP"; next }
        $out .= esc($star);
        $call //= '';
        # \% keeps roff from hyphenating identifiers.
        my $nohy = $word =~ /_/ ? '\\%' : '';
        if ($word =~ /^tnn_\w+$/ && ($call || $ctx->{all}{$word})) {
            $out .= "\\fB$nohy$word\\fP$call";
        }
        elsif ($word =~ /^TNN_[A-Z0-9_]+$/) {
            $out .= "\\fB$nohy$word\\fP$call";
        }
        elsif ($word =~ /^tnn_/) {
            $out .= "\\fI$nohy$word\\fP$call";
        }
        elsif ($ctx->{params}{$word}
               && ($star || !$PLAIN_WORDS{$word}
                   || ($after =~ $PARAM_USE
                       && $before !~ /\b(?:[Aa]n?|[Aa]ny|[Ee]ach|[Ee]very)\s+$/))) {
            $out .= "\\fI$nohy$word\\fP$call";
        }
        else {
            $out .= "$nohy$word$call";
        }
    }
    # \% must open its word, or roff takes it for a hyphenation point: move it
    # before the punctuation that precedes the identifier, "(\fB\%tnn_x\fP)".
    $out = join ' ', map { s/\\%//g ? "\\%$_" : $_ } split / /, $out, -1;
    $out = "\\&$out" if $out =~ /^[.']/;
    return $out;
}

# Escape text outside font requests: backslashes, marked minus signs.
sub esc {
    my ($s) = @_;
    $s =~ s/\\/\\e/g;
    $s =~ s/\x01/\\-/g;
    return $s;
}

# Running text (several source lines) as roff source lines: one sentence
# per line, as roff wants, wrapped at $WIDTH; a line may not end in an
# abbreviation roff would take for the end of a sentence.
sub roff_text {
    my ($text, $ctx) = @_;
    my @out;
    my $t = mark_minus(join ' ', split ' ', $text);
    for my $sentence (split_sentences($t)) {
        # Escapes hold no spaces, so the roff text can be wrapped as words.
        push @out, wrap_words(roff_line($sentence, $ctx));
    }
    for (@out) {
        $_ = "\\&$_" if /^[.']/;
        s/(e\.g\.|i\.e\.)$/$1\\&/;
    }
    return @out;
}

sub split_sentences {
    my ($t) = @_;
    my @s;
    while ($t =~ /\G(.+?(?<!e\.g)(?<!i\.e)(?<!\.\.)[.!?][)"']*)(?:\s+|$)/gc) {
        push @s, $1;
    }
    my $rest = substr($t, pos($t) // 0);
    push @s, $rest if length $rest;
    return @s;
}

sub wrap_words {
    my ($t) = @_;
    my (@lines, $line);
    for my $w (split ' ', $t) {
        if (defined $line && length($line) + 1 + length($w) > $WIDTH) {
            push @lines, $line;
            undef $line;
        }
        $line = defined $line ? "$line $w" : $w;
    }
    push @lines, $line if defined $line;
    return @lines;
}

# A comment as roff: paragraphs, bullet items and code examples.
sub roff_blocks {
    my ($ctx, @blocks) = @_;
    my @out;
    my $in_list = 0;
    for my $blk (@blocks) {
        if ($blk->{type} eq 'item') {
            push @out, '.IP \(bu 2';
            $in_list = 1;
        }
        elsif ($blk->{type} eq 'code') {
            push @out, ($in_list ? '.IP' : '.PP'), '.RS 4', '.EX',
                (map { code_line($_) } @{ $blk->{lines} }), '.EE', '.RE';
            next;
        }
        else {
            push @out, '.PP';
            $in_list = 0;
        }
        my $text = join ' ', @{ $blk->{lines} };
        $text =~ s/ ?\n ?/\n/g;
        # "\n" marks a line break inside a paragraph ("as Keras prints it:").
        my @chunks = split /\n/, $text;
        for my $i (0 .. $#chunks) {
            push @out, '.br' if $i > 0;
            push @out, roff_text($chunks[$i], $ctx);
        }
    }
    return @out;
}

# A line of code in .EX: everything literal.
sub code_line {
    my ($s) = @_;
    $s =~ s/\\/\\e/g;
    $s =~ s/-/\\-/g;
    $s = "\\&$s" if $s =~ /^[.']/;
    return $s;
}

# Remove empty paragraphs and a .PP that follows a heading, which roff
# ignores and mandoc reports.
sub tidy {
    my (@l) = @_;
    my @out;
    for my $i (0 .. $#l) {
        next if $l[$i] eq '.PP' && @out && $out[-1] =~ /^\.(?:SH|SS|PP|TP)\b/;
        next if $l[$i] eq '.PP' && ($i == $#l || $l[ $i + 1 ] =~ /^\.(?:SH|SS|PP)\b/);
        push @out, $l[$i];
    }
    return @out;
}

sub quote_arg {
    my ($s) = @_;
    $s =~ s/"/\\(dq/g;
    return qq{"$s"};
}

# ---------------------------------------------------------------------------
# Whatis lines
# ---------------------------------------------------------------------------

sub check_whatis_table {
    my ($all) = @_;
    for (sort keys %WHATIS) {
        die "gen-man: whatis given for $_, which no header declares\n" unless $all->{$_};
        die "gen-man: NAME line of $_ longer than $NAME_WIDTH columns\n"
            if length("$_ - $WHATIS{$_}") > $NAME_WIDTH;
    }
    return;
}

# One line for NAME and the lists: the table above, else the comment's
# first sentence without a leading "(since X.Y)", shortened so that the
# NAME line stays within $NAME_WIDTH columns.
sub whatis {
    my ($g, $name) = @_;
    return $WHATIS{$name} if $WHATIS{$name};
    my $text = join ' ', map { /\S/ ? $_ : () } @{ $g->{comment} };
    $text =~ s/^\s*\(since \d+\.\d+\)\s*//;
    $text =~ s/\s+/ /g;
    my ($first) = split_sentences($text);
    $first =~ s/\.$//;
    # What a summary leaves out: the details after a ";", and the clauses
    # on ownership and on NULL arguments that every page repeats.
    my $semi = top_level_index($first, ';');
    $first = substr($first, 0, $semi) if defined $semi && $semi > 15;
    my $max = $NAME_WIDTH - length($name) - 3;
    $max = 30 if $max < 30;
    for my $pass (1, 2) {
        $first =~ s/,? owned by the caller$//;
        $first =~ s/, or (?:0|NULL|-1|"") (?:if|for)\b.*$//;
        $first =~ s/ \(borrowed\)//;
        $first = shorten($first, $max) if $pass == 1;
    }
    $first =~ s/^(\(?)([A-Z][a-z]*)\b/$1\l$2/ unless $first =~ /^(?:Adam|Huber)\b/;
    die "gen-man: whatis of $name says only its name\n" if $first eq $name;
    return $first;
}

# Shorten a sentence to $max characters, each step only while it is too
# long: cut at the first top-level ":" (what follows is detail), drop
# parenthesised asides from the last (not one that is the object of a
# preposition, "over (x, y)"), cut at the last top-level ", " that fits,
# then before the last prepositional phrase that fits ("... on the calling
# thread"), and at last between words.
sub shorten {
    my ($text, $max) = @_;
    if (length $text > $max) {
        my $at = top_level_index($text, ':');
        $text = substr($text, 0, $at) if defined $at && $at > 15;
    }
    for my $group (reverse paren_groups($text)) {
        last if length $text <= $max;
        my ($start, $len) = @$group;
        next if substr($text, 0, $start) =~ /\b$PREPOSITION\s*$/;
        substr($text, $start - 1, $len + 1) = '';    # with the space before
    }
    if (length $text > $max) {
        my $at = top_level_index($text, ', ', $max);
        $text = substr($text, 0, $at) if defined $at && $at > 15;
    }
    if (length $text > $max) {
        my $cut;
        while ($text =~ / $PREPOSITION /g) {
            my $at = $-[0];
            last if $at > $max;
            $cut = $at if $at > 15 && depth_at($text, $at) == 0;
        }
        $text = substr($text, 0, $cut) if defined $cut;
    }
    if (length $text > $max) {
        $text = substr($text, 0, $max + 1);
        $text =~ s/\s+\S*$//;
        1 while $text =~ s/\s+(?:a|an|and|if|or|the|$PREPOSITION)$//;
    }
    return $text;
}

# Top-level " (...)" groups of a text: [start of "(", length].
sub paren_groups {
    my ($text) = @_;
    my @groups;
    my ($depth, $open) = (0, undef);
    for my $i (0 .. length($text) - 1) {
        my $c = substr $text, $i, 1;
        if ($c eq '(') {
            $open = $i if $depth == 0 && $i > 0 && substr($text, $i - 1, 1) eq ' ';
            $depth++;
        }
        elsif ($c eq ')' && $depth > 0) {
            $depth--;
            push @groups, [ $open, $i - $open + 1 ] if $depth == 0 && defined $open;
            undef $open if $depth == 0;
        }
    }
    return @groups;
}

# Bracket depth of a text at a position.
sub depth_at {
    my ($text, $pos) = @_;
    my $prefix = substr $text, 0, $pos;
    my $d = () = $prefix =~ /[(\[]/g;
    $d -= () = $prefix =~ /[)\]]/g;
    return $d;
}

# Index of $sep outside brackets: the first, or with $limit the last that
# ends before $limit.
sub top_level_index {
    my ($text, $sep, $limit) = @_;
    my ($depth, $found) = (0, undef);
    for my $i (0 .. length($text) - 1) {
        my $c = substr $text, $i, 1;
        if ($depth == 0 && substr($text, $i, length $sep) eq $sep) {
            return $i unless defined $limit;
            last if $i > $limit;
            $found = $i;
        }
        $depth++ if $c eq '(' || $c eq '[';
        $depth-- if ($c eq ')' || $c eq ']') && $depth > 0;
    }
    return $found;
}

# ---------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------

sub page_head {
    my ($h, $title, $from) = @_;
    return (
        qq{.\\" $title(3) - generated by scripts/gen-man.pl from $from; do not edit.},
        qq{.\\" $COPYRIGHT},
        '.TH ' . join(' ', uc($title) =~ s/-/\\-/gr, 3, $h->{date},
                      quote_arg("$h->{package} $h->{version_string}"), quote_arg($MANUAL)),
    );
}

# Parameter names of the functions of a group.
sub group_params {
    my ($g) = @_;
    return map { param_names($_->{text}) } grep { $_->{kind} eq 'func' } @{ $g->{decls} };
}

# Parameter names of a declaration.
sub param_names {
    my ($decl) = @_;
    my ($args) = $decl =~ /\((.*)\)\s*;$/ or return ();
    return () if $args eq 'void';
    my @names;
    for my $a (split /,/, $args) {
        push @names, $1 if $a =~ /(\w+)\s*(?:\[\s*\])?\s*$/;
    }
    return @names;
}

# A declaration in the synopsis: bold, the parameter names of a function in
# italics, wrapped between parameters to fit a page of 80 columns (the
# synopsis is indented by 7), continuation lines aligned after the "(".
sub synopsis_decl {
    my ($d) = @_;
    my $text = $d->{text};
    my ($head, $args) = $text =~ /^(.*?\(\s*\*\s*\w+\s*\)\s*\(|.*?\()(.*)\);$/;
    return '\fB' . code_line($text) . '\fP' unless defined $head;
    my @args = map { s/^\s+|\s+$//gr } split /,/, $args;
    $_ .= ',' for @args[ 0 .. $#args - 1 ];
    $args[-1] .= ');';
    my $indent = length $head > 36 ? 8 : length $head;
    my @lines = ($head . shift @args);
    for my $a (@args) {
        if (length($lines[-1]) + 1 + length($a) > 72) { push @lines, (' ' x $indent) . $a }
        else                                          { $lines[-1] .= " $a" }
    }
    my $italic = $d->{kind} eq 'func';
    return map { font_decl($_, $italic) } @lines;
}

# Bold declaration text, parameter names (the identifier before "," or ")")
# in italics when $italic.
sub font_decl {
    my ($l, $italic) = @_;
    my $out = '';
    my $rest = $l;
    if ($italic) {
        while ($rest =~ s/^(.*?)\b(\w+)(\s*(?:\[\s*\])?\s*[,)])//) {
            my ($pre, $name, $post) = ($1, $2, $3);
            if ($name eq 'void') { $out .= '\fB' . code_line("$pre$name$post") . '\fP'; next }
            $out .= '\fB' . code_line($pre) . "\\fI$name\\fB" . code_line($post) . '\fP';
        }
    }
    $out .= '\fB' . code_line($rest) . '\fP' if length $rest;
    $out =~ s/\\fP\\fB//g;
    $out =~ s/\\fB\\fP//g;
    $out =~ s/\\fB\\fI/\\fI/g;
    $out =~ s/\\&//g;
    return $out =~ /^[.']/ ? "\\&$out" : $out;
}

# Types, enums and constants documented elsewhere that a group's page shows:
#  - function pointer types among its parameters (in the synopsis too);
#  - constants named in its comment (#define, in the synopsis too);
#  - enums that the comment names ("enum tnn_init"), whose comment names
#    one of the group's functions ("Flags of tnn_idx_load()", also for its
#    _buffer variant), that a parameter is named after ("int monitor" for
#    enum tnn_monitor), or whose documented members the comment names (then
#    only those members).
sub related_symbols {
    my ($g, $symbols) = @_;
    my $comment = join ' ', @{ $g->{comment} };
    my %params = map { $_ => 1 } group_params($g);
    my $decls = join ' ', map { $_->{text} } @{ $g->{decls} };
    my (@syn, @desc);
    my $by_order = sub { $symbols->{$a}{order} <=> $symbols->{$b}{order} || $a cmp $b };
    for my $name (sort $by_order keys %$symbols) {
        my $s = $symbols->{$name};
        next if grep { $_ eq $s } @{ $g->{decls} };
        if ($s->{kind} eq 'typedef') {
            next unless $s->{fnptr} && $decls =~ /\b\Q$name\E\b/;
            push @syn, $s;
            push @desc, { sym => $s } if $s->{comment};
        }
        elsif ($s->{kind} eq 'define') {
            next unless $comment =~ /\b\Q$name\E\b/;
            push @syn, $s;
            push @desc, { sym => $s } if $s->{comment};
        }
        elsif ($s->{kind} eq 'enum') {
            next if $name eq 'tnn_status';    # libtinynn(3), ERRORS
            (my $suffix = $name) =~ s/^tnn_//;
            # The enum's own first sentence says whose it is ("Flags of X()").
            my ($intro) = split_sentences(join ' ', @{ $s->{comment} || [] });
            $intro //= '';
            my $whole = $comment =~ /\benum \Q$name\E\b/
                || grep({ $intro =~ /\b\Q$_\E\(\)/ } @{ $g->{funcs} })
                || grep({ /^(\w+)_buffer$/ && $intro =~ /\b\Q$1\E\(\)/ } @{ $g->{funcs} })
                || $params{$suffix}
                || grep({ /_\Q$suffix\E$/ && one_param($g, $_) } @{ $g->{funcs} });
            if ($whole) {
                push @desc, { sym => $s };
                next;
            }
            my @named = grep { $_->{comment} && $comment =~ /\b\Q$_->{name}\E\b/ } @{ $s->{members} };
            push @desc, { sym => $s, only => \@named } if @named;
        }
    }
    return (\@syn, \@desc);
}

sub one_param {
    my ($g, $func) = @_;
    my ($d) = grep { $_->{kind} eq 'func' && $_->{name} eq $func } @{ $g->{decls} };
    return $d && $d->{text} !~ /,/;
}

# Subsections describing the related types, enums and constants.
sub related_desc {
    my ($ctx, @desc) = @_;
    my @out;
    for my $r (@desc) {
        my $s = $r->{sym};
        my $title = $s->{kind} eq 'enum' ? "enum $s->{name}" : $s->{name};
        push @out, '.SS ' . quote_arg($title);
        push @out, roff_blocks($ctx, comment_blocks(@{ $s->{comment} })) if $s->{comment};
        next unless $s->{kind} eq 'enum';
        my @members = $r->{only} ? @{ $r->{only} } : @{ $s->{members} };
        if (!grep { $_->{comment} } @members) {
            push @out, '.PP', join(', ', map { "\\fB\\%$_->{name}\\fP" . value_note($_) } @members) . '.';
            next;
        }
        for my $m (@members) {
            push @out, '.TP', "\\fB\\%$m->{name}\\fP" . value_note($m);
            push @out, $m->{comment} ? roff_text(ucfirst $m->{comment}, $ctx) : ();
        }
        # Comments between members that document none of them.
        push @out, map { ('.PP', roff_text(ucfirst $_, $ctx)) } map { @{ $_->{notes} || [] } } @members;
    }
    return @out;
}

sub value_note {
    my ($m) = @_;
    return '' unless defined $m->{value};
    return ' (' . esc(mark_minus($m->{value})) . ')';
}

sub function_page {
    my ($h, $section, $g, $name, $all, $symbols) = @_;
    my ($syn, $desc) = related_symbols($g, $symbols);
    my $ctx = { params => { map { $_ => 1 } group_params($g) }, all => $all };
    my @comment = @{ $g->{comment} };
    $comment[0] =~ s/^\(since \d+\.\d+\)\s*//;
    my @blocks = comment_blocks(@comment);
    my @errors = extract_errors(\@blocks);
    my @l = page_head($h, $name, $h->{path});
    push @l, '.SH NAME', "$name \\- " . roff_line(mark_minus(whatis($g, $name)), { plain => 1 });
    push @l, '.SH SYNOPSIS', '.nf', ".B #include <$h->{include}>";
    push @l, '.PP', map { synopsis_decl($_) } @$syn if @$syn;
    push @l, '.PP', map { synopsis_decl($_) } @{ $g->{decls} };
    push @l, '.fi', '.PP', @{ $h->{link} };
    push @l, '.SH DESCRIPTION', roff_blocks($ctx, @blocks);
    push @l, related_desc($ctx, @$desc);
    push @l, errors_section($ctx, $symbols->{tnn_status}, @errors) if @errors;
    push @l, '.SH HISTORY', "Added in $h->{package} $g->{since}{$name}.";
    if (@{ $section->{notes} }) {
        push @l, '.SH NOTES', map { roff_blocks($ctx, comment_blocks(@$_)) } @{ $section->{notes} };
    }
    push @l, '.SH SEE ALSO', '.ad l', '.nh', see_also($h, $section, $g, $name, $all);
    return join("\n", tidy(@l)) . "\n";
}

# Move the sentences of a description that list status codes into an ERRORS
# section: "Errors (*out is then NULL): TNN_E_INVALID for ..., TNN_E_IO if
# ...", "Errors as for f(): ...", or a sentence made of clauses that each
# start with a code ("TNN_E_STATE if ...; TNN_E_IO if ..."), with the
# sentences about messages right after them. Returns
# ({ intro => text|undef, codes => [[code, text], ...], after => [...] }).
sub extract_errors {
    my ($blocks) = @_;
    my @found;
    for my $blk (grep { $_->{type} eq 'para' } @$blocks) {
        next if grep { $_ eq "\n" } @{ $blk->{lines} };
        my @keep;
        my $last;
        for my $sentence (split_sentences(join ' ', @{ $blk->{lines} })) {
            if (my $e = error_sentence($sentence)) {
                push @found, $e;
                $last = $e;
                next;
            }
            if ($last && $sentence =~ /^Messages\b/) {
                push @{ $last->{after} }, $sentence;
                next;
            }
            undef $last;
            push @keep, $sentence;
        }
        $blk->{lines} = \@keep;
    }
    @$blocks = grep { $_->{type} ne 'para' || @{ $_->{lines} } } @$blocks;
    return @found;
}

sub error_sentence {
    my ($s) = @_;
    my $intro;
    if ($s =~ s/^Errors\s*\(([^()]*)\)\s*:\s*(?=TNN_E_)//) {
        (my $inner = $1) =~ s/\bthen\s+//;
        $intro = "On failure, $inner.";
    }
    elsif ($s =~ s/^Errors as for ([^:]+):\s*(?=TNN_E_)//) {
        $intro = "The errors are those of $1:";
    }
    elsif ($s !~ /^TNN_E_[A-Z]+\b(?:[ ,.;]|$)/) {
        return undef;
    }
    $s =~ s/\.$//;
    my @codes;
    for my $clause (split_top_level($s, qr/[,;]\s+(?:and\s+)?(?=TNN_E_)/)) {
        my ($code, $text) = $clause =~ /^(TNN_E_[A-Z]+)\b(.*)$/s or return undef;
        # What may follow the code in a list: when it is returned, or an
        # aside; anything else makes the sentence a statement about it.
        return undef unless $text =~ /^(?:\s*$|,|\s+(?:for|if|when|as|naming)\b|\s+\((?:[^()]|\([^()]*\))*\)$)/;
        $text =~ s/^[,\s]+//;
        $text =~ s/^as (tnn_\w+\(\))/as for $1/;
        push @codes, [ $code, $text ];
    }
    return { intro => $intro, codes => \@codes, after => [] };
}

# Split text at the matches of $re that lie outside brackets.
sub split_top_level {
    my ($text, $re) = @_;
    my @parts;
    my ($depth, $start) = (0, 0);
    my $i = 0;
    while ($i < length $text) {
        my $c = substr $text, $i, 1;
        if ($depth == 0 && substr($text, $i) =~ /^($re)/) {
            push @parts, substr($text, $start, $i - $start);
            $i += length $1;
            $start = $i;
            next;
        }
        $depth++ if $c eq '(' || $c eq '[';
        $depth-- if ($c eq ')' || $c eq ']') && $depth > 0;
        $i++;
    }
    push @parts, substr($text, $start);
    return @parts;
}

# The ERRORS section: each code with what the comment says of it, or, for a
# code named alone, what enum tnn_status says of the code.
sub errors_section {
    my ($ctx, $status, @errors) = @_;
    my %meaning = map { $_->{name} => $_->{comment} } @{ $status ? $status->{members} : [] };
    my @out = ('.SH ERRORS');
    for my $e (@errors) {
        push @out, '.PP', roff_text($e->{intro}, $ctx) if $e->{intro};
        for my $c (@{ $e->{codes} }) {
            my ($code, $text) = @$c;
            my $default = $meaning{$code} // '';
            if ($text eq '') {
                $text = $default;
            }
            elsif ($text =~ /^\(.*\)$/ && $default ne '') {
                $text = "$default $text";
            }
            $text = ucfirst $text;
            $text .= '.' if $text ne '' && $text !~ /[.:]$/;
            push @out, '.TP', "\\fB\\%$code\\fP", roff_text($text, $ctx);
        }
        push @out, '.PP', map { roff_text($_, $ctx) } @{ $e->{after} } if @{ $e->{after} };
    }
    return @out;
}

# The overview page, the other functions of the section, then the functions
# the comment mentions elsewhere, in the order met.
sub see_also {
    my ($h, $section, $g, $name, $all) = @_;
    my @refs = ($h->{overview});
    push @refs, 'libtinynn' if $h->{overview} ne 'libtinynn';
    push @refs, grep { $_ ne $name } map { @{ $_->{funcs} } } @{ $section->{groups} };
    my $comment = join ' ', @{ $g->{comment} };
    while ($comment =~ /\b(tnn_\w+)\(\)/g) {
        push @refs, $1 if $all->{$1};
    }
    my %seen;
    @refs = grep { !$seen{$_}++ } @refs;
    my @lines = map { "\\fB\\%" . ($_ =~ s/-/\\-/gr) . "\\fP(3)," } @refs;
    $lines[-1] =~ s/,$//;
    return @lines;
}

# ---------------------------------------------------------------------------
# Overview pages
# ---------------------------------------------------------------------------

sub overview_page {
    my ($h, $all) = @_;
    # The template's own comments are about the template; the page gets the
    # generated header's.
    my $text = join "\n", grep { !/^\.\\"/ } read_lines($h->{template});
    my %subst = (
        DATE      => $h->{date},
        SOURCE    => "$h->{package} $h->{version_string}",
        VERSION   => $h->{version_string},
        MANUAL    => $MANUAL,
        COPYRIGHT => $COPYRIGHT,
        FUNCTIONS => join("\n", function_list($h, $all)),
        ERRORS    => join("\n", error_list($h)),
        TYPES     => join("\n", type_list($h, $all)),
    );
    # Markers are @NAME@, alone on a line for the generated lists.
    $text =~ s/\@(\w+)\@/exists $subst{$1} ? $subst{$1} : die "gen-man: unknown marker \@$1\@\n"/ge;
    my $head = join "\n", qq{.\\" $h->{overview}(3) - generated by scripts/gen-man.pl from $h->{template}; do not edit.},
        qq{.\\" $COPYRIGHT};
    return "$head\n$text\n";
}

# Every function page with its whatis line, under the header's sections.
sub function_list {
    my ($h, $all) = @_;
    my @out;
    my $titled = grep { $_->{title} ne '' } @{ $h->{sections} };
    for my $s (@{ $h->{sections} }) {
        push @out, '.SS ' . quote_arg($s->{title}) if $titled;
        push @out, '.PD 0';    # one function a line, as in a table
        for my $g (@{ $s->{groups} }) {
            for my $f (@{ $g->{funcs} }) {
                push @out, '.TP', "\\fB\\%$f\\fP(3)",
                    roff_line(mark_minus(ucfirst(whatis($g, $f)) . '.'), { all => $all });
            }
        }
        push @out, '.PD';
    }
    return @out;
}

# The opaque handle types with their comments, in the header's order.
sub type_list {
    my ($h, $all) = @_;
    my @types = sort { $a->{order} <=> $b->{order} }
                grep { $_->{kind} eq 'typedef' && !$_->{fnptr} && $_->{comment} }
                values %{ $h->{symbols} };
    my @out;
    for my $t (@types) {
        my $text = join ' ', grep { /\S/ } @{ $t->{comment} };
        push @out, '.TP', "\\fI\\%$t->{name}\\fP", roff_text($text, { all => $all });
    }
    return @out;
}

# The status codes of enum tnn_status with their comments.
sub error_list {
    my ($h) = @_;
    my $e = $h->{symbols}{tnn_status} or return ();
    my @out;
    for my $m (@{ $e->{members} }) {
        my $text = $m->{comment} // ($m->{value} eq '0' ? 'success' : '');
        push @out, '.TP', "\\fB\\%$m->{name}\\fP" . value_note($m),
            roff_text(ucfirst($text) . '.', { all => {} });
    }
    return @out;
}
