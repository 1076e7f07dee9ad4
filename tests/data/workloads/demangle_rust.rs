// Rust names for the demangling test (tests/e2e/test_demangle.py), built by
// the test itself with rustc under both symbol manglings (legacy and v0):
// a free function in a module, and a generic method with two instantiations.
mod work {
    #[inline(never)]
    pub fn spin(n: u64) -> u64 {
        let mut x = n;
        for i in 0..n {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
        }
        x
    }
}

struct Acc<T> {
    v: T,
}

impl<T: Copy + std::ops::Add<Output = T> + std::ops::Mul<Output = T>> Acc<T> {
    #[inline(never)]
    fn add_all(&mut self, xs: &[T], k: T) {
        for &x in xs {
            self.v = self.v * k + x;
        }
    }
}

fn main() {
    let rounds: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1500);
    let ints: Vec<u64> = (0..100_000).collect();
    let floats: Vec<f64> = (0..100_000).map(|i| i as f64).collect();
    let mut a = Acc { v: 0u64 };
    let mut b = Acc { v: 0.0f64 };
    let mut s = 0u64;
    for r in 0..rounds {
        s = s.wrapping_add(work::spin(200_000 + r));
        a.add_all(&ints, 3);
        b.add_all(&floats, 0.5);
    }
    println!("demangle_rust: {} {} {}", s, a.v, b.v);
}
