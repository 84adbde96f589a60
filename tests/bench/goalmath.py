"""What a speed goal against Go's parser would take, from one bench run's
numbers: how fast, as a share of libdeflate's inflate alone, profpipe
would have to decode a file to reach it, and how much of what profpipe
spends beyond inflating would have to go. Speeds are MB of gzipped input
per CPU-second, all measured in the same run."""


def goal_needs(goal, go, inflate, profpipe):
    """(share, cut) for profpipe at goal x Go's speed go.

    share: the speed needed, over inflate's. cut: the fraction of
    profpipe's time beyond inflating (per byte: 1/profpipe - 1/inflate)
    that would have to go, 0.0 when the goal is met, None when inflate
    alone is not fast enough (no decoder built on it can reach the goal).
    """
    if min(go, inflate, profpipe) <= 0:
        raise ValueError("speeds must be positive")
    target = goal * go
    share = target / inflate
    if target >= inflate:
        return share, None
    if profpipe >= target:
        return share, 0.0
    # here profpipe < target < inflate, so the time beyond is positive
    beyond = 1.0 / profpipe - 1.0 / inflate
    return share, (1.0 / profpipe - 1.0 / target) / beyond


def describe(name, share, cut):
    """One file's needs, as the bench's goal lines say them."""
    if cut is None:
        return ("%s: libdeflate alone is %.2fx of what it takes" %
                (name, 1.0 / share))
    return ("%s: %.2fx libdeflate's speed, %d%% less work beyond "
            "inflating" % (name, share, round(100 * cut)))
