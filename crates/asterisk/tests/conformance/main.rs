//! Conformance suite: every scenario of expected.json (in `HOOKFLASH_FIXTURES_DIR`, default
//! the project's `testdata/asterisk-22`) replayed through the provider of its protocol, one
//! trial per scenario (`ami::originate-answered`, `ari::ari-dial-busy`, ...), plus the wire
//! checks of each AMI command. A scenario a provider cannot do is a trial asserting the
//! declared capability gap.

mod ami;
mod ari;
mod common;

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let fixtures = match common::Fixtures::load() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("conformance: cannot load the fixtures: {e}");
            std::process::exit(2);
        }
    };
    let mut trials = ami::trials(&fixtures);
    trials.extend(ari::trials(&fixtures));
    libtest_mimic::run(&args, trials).exit();
}
