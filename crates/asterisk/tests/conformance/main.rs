//! Conformance suite: every scenario of expected.json replayed through the providers.

mod ari;

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let trials = ari::trials();
    libtest_mimic::run(&args, trials).exit();
}
