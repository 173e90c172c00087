"""The one check that talks to AWS (only with ``--online``): this clock against the STS endpoint's."""

from __future__ import annotations

from mfa_process.doctor import Finding, fail, ok, warn
from mfa_process.doctor.probe import Probe
from mfa_process.errors import MfaProcessError

#: AWS refuses a request signed more than this many seconds away from its own clock.
SIGNATURE_WINDOW = 300
#: Skew worth a warning: TOTP codes and cache expiry times drift with it.
NOTICEABLE = 30


def skew_finding(url: str, local: float, remote: float) -> Finding:
    """Judge the difference between this machine's clock and the endpoint's (both POSIX seconds)."""
    skew = round(local - remote)
    ahead = f"{abs(skew)} s {'ahead of' if skew > 0 else 'behind'} {url}"
    fix = "turn on time synchronisation (timedatectl set-ntp true, or your OS's date settings)"
    if abs(skew) > SIGNATURE_WINDOW:
        return fail("clock", f"this clock is {ahead}: AWS rejects signatures more than 5 minutes off", fix)
    if abs(skew) > NOTICEABLE:
        return warn("clock", f"this clock is {ahead}", fix)
    return ok("clock", f"within {max(abs(skew), 1)} s of {url}")


def check_clock(probe: Probe) -> list[Finding]:
    """Clock skew against the STS endpoint's ``Date`` header; sends no credentials and no code."""
    from mfa_process.doctor.profiles import checked, settings_of

    if not probe.online:
        return []
    found = [h for h in checked(probe) if h.source()]
    profile, region = None, None
    if found:
        try:
            settings = settings_of(found[0], probe.files, dict(probe.env))
            profile, region = settings.profile, settings.region
        except MfaProcessError:
            profile = found[0].source()
    try:
        before = probe.now()
        answer = probe.sts_date(profile or "default", region)
        after = probe.now()
    except MfaProcessError as exc:
        return [fail("clock", str(exc), "check the network, then run mfa-process doctor --online again")]
    if answer is None:
        return [warn("clock", "the STS endpoint sent no Date header", "compare the clock by hand")]
    url, remote = answer
    middle = before.timestamp() + (after.timestamp() - before.timestamp()) / 2
    return [skew_finding(url, middle, remote.timestamp())]
