//! Static memory plan: every activation gets an arena offset so that tensors alive at the same time
//! never overlap. Lifetimes come from the op order; placement is greedy, largest first, each tensor at
//! the lowest 16-aligned offset free of every tensor whose lifetime it meets (the approach of TFLM's
//! greedy planner). Aliases share their base tensor's bytes and extend its lifetime. Graph inputs and
//! outputs live for the whole run.
use std::collections::HashSet;

use rill_format::ALIGN;

use crate::ir::{Data, Graph, Node, TId};
use crate::stream::Stream;

pub struct Plan {
    /// Arena offset of each tensor (roots and aliases; constants `None`).
    pub offsets: Vec<Option<usize>>,
    /// Bytes from the arena start to the end of the last placed tensor.
    pub arena_bytes: usize,
    /// Largest total size of tensors alive at one time: no plan can do better.
    pub live_bound_bytes: usize,
    /// Bytes of the streaming state at the arena's start (0 without a step program).
    pub state_bytes: usize,
    /// The state plus the step program's buffers: what a session that only streams needs.
    pub step_arena_bytes: usize,
}

fn aligned(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

pub fn plan(g: &Graph) -> Plan {
    plan_with_stream(g, None)
}

/// The plan of the whole-window program and, when given, of the step program: the stream's state
/// tensors first, packed from offset 0 (they persist, so nothing may reuse them), then both
/// programs' buffers above the state, overlapping each other (a session runs one at a time).
pub fn plan_with_stream(g: &Graph, stream: Option<&Stream>) -> Plan {
    let mut offsets: Vec<Option<usize>> = vec![None; g.tensors.len()];
    let mut state_bytes = 0;
    for &t in stream.map_or(&[][..], |s| &s.state[..]) {
        offsets[t] = Some(state_bytes);
        state_bytes += aligned(g.tensors[t].bytes()).max(ALIGN);
    }
    let state: HashSet<TId> =
        stream.map_or_else(HashSet::new, |s| s.state.iter().copied().collect());
    let window = place(g, &g.nodes, &g.inputs, &g.outputs, &state);
    let step = stream.map(|s| place(g, &s.nodes, &s.inputs, &s.outputs, &state));
    let step_arena_bytes = aligned(state_bytes + step.as_ref().map_or(0, |s| s.arena));
    let mut arena = window.arena;
    let mut live = window.live_bound_bytes;
    for part in std::iter::once(&window).chain(step.as_ref()) {
        for (t, o) in part.offsets.iter().enumerate() {
            if let Some(o) = o {
                if offsets[t].is_none() {
                    offsets[t] = Some(state_bytes + o);
                }
            }
        }
        arena = arena.max(part.arena);
        live = live.max(part.live_bound_bytes);
    }
    for t in 0..g.tensors.len() {
        if matches!(g.tensors[t].data, Data::Alias(_)) {
            offsets[t] = offsets[g.root(t)];
        }
    }
    Plan {
        offsets,
        arena_bytes: aligned(state_bytes + arena),
        live_bound_bytes: state_bytes + live,
        state_bytes,
        step_arena_bytes,
    }
}

struct Placed {
    offsets: Vec<Option<usize>>,
    arena: usize,
    live_bound_bytes: usize,
}

/// Places the activations `nodes` touch (state tensors excluded: they are placed already).
fn place(
    g: &Graph,
    nodes: &[Node],
    inputs: &[TId],
    outputs: &[TId],
    state: &HashSet<TId>,
) -> Placed {
    let n = g.tensors.len();
    let steps = nodes.len();
    // Lifetime of each root in op positions: graph inputs are alive before op 0, outputs after the last.
    let mut first: Vec<Option<usize>> = vec![None; n];
    let mut last: Vec<Option<usize>> = vec![None; n];
    let touch =
        |t: TId, at: usize, first: &mut Vec<Option<usize>>, last: &mut Vec<Option<usize>>| {
            let r = g.root(t);
            if g.tensors[r].data != Data::Act || state.contains(&r) {
                return;
            }
            first[r] = Some(first[r].map_or(at, |f| f.min(at)));
            last[r] = Some(last[r].map_or(at, |l| l.max(at)));
        };
    for &t in inputs {
        touch(t, 0, &mut first, &mut last);
    }
    for (i, node) in nodes.iter().enumerate() {
        let at = i + 1;
        for t in node
            .inputs
            .iter()
            .chain(&node.outputs)
            .flatten()
            .chain(&node.scratch)
        {
            touch(*t, at, &mut first, &mut last);
        }
    }
    // Inputs stay intact to the end: invoking twice gives the same answer, and the caller may read
    // back what it wrote.
    for &t in outputs.iter().chain(inputs) {
        touch(t, steps + 1, &mut first, &mut last);
    }
    let mut order: Vec<TId> = (0..n).filter(|&t| first[t].is_some()).collect();
    order.sort_by_key(|&t| (std::cmp::Reverse(aligned(g.tensors[t].bytes())), t));
    let mut offsets: Vec<Option<usize>> = vec![None; n];
    let mut placed: Vec<(usize, usize, usize, usize)> = Vec::new(); // (offset, size, first, last)
    let mut arena = 0;
    for &t in &order {
        let (f, l) = (first[t].unwrap_or(0), last[t].unwrap_or(0));
        let size = aligned(g.tensors[t].bytes()).max(ALIGN);
        let mut busy: Vec<(usize, usize)> = placed
            .iter()
            .filter(|p| p.2 <= l && f <= p.3)
            .map(|p| (p.0, p.0 + p.1))
            .collect();
        busy.sort_unstable();
        let mut at = 0;
        for (s, e) in busy {
            if at + size <= s {
                break;
            }
            at = at.max(e);
        }
        offsets[t] = Some(at);
        placed.push((at, size, f, l));
        arena = arena.max(at + g.tensors[t].bytes());
    }
    let live_bound_bytes = (0..=steps + 1)
        .map(|s| {
            (0..n)
                .filter(|&t| first[t].is_some_and(|f| f <= s) && last[t].is_some_and(|l| s <= l))
                .map(|t| g.tensors[t].bytes())
                .sum::<usize>()
        })
        .max()
        .unwrap_or(0);
    Placed {
        offsets,
        arena,
        live_bound_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Node;
    use rill_format::{ActKind, ActParams, Op, UnaryParams};

    fn relu(g: &mut Graph, x: TId, len: usize, name: &str) -> TId {
        let y = g.act(name, vec![len]);
        let p = UnaryParams {
            len: len as u32,
            act: ActParams::new(ActKind::Relu, 0.0, 0.0),
        };
        g.nodes.push(Node {
            name: name.into(),
            onnx_op: "Relu".into(),
            op: Op::Unary(p),
            inputs: vec![Some(x)],
            outputs: vec![Some(y)],
            scratch: None,
        });
        y
    }

    #[test]
    fn a_chain_reuses_memory_and_never_overlaps_live_tensors() {
        // x -> a -> b -> c -> d: the input stays alive throughout, plus two 400-byte buffers at once.
        let mut g = Graph::default();
        let x = g.act("x", vec![100]);
        g.inputs.push(x);
        let mut t = x;
        let mut all = vec![x];
        for name in ["a", "b", "c", "d"] {
            t = relu(&mut g, t, 100, name);
            all.push(t);
        }
        g.outputs.push(t);
        let p = plan(&g);
        assert_eq!(
            p.arena_bytes, 1200,
            "hand count: the input and two live 400-byte tensors"
        );
        assert_eq!(p.live_bound_bytes, 1200);
        for w in all.windows(2) {
            let (a, b) = (p.offsets[w[0]].unwrap(), p.offsets[w[1]].unwrap());
            assert!(
                a + 400 <= b || b + 400 <= a,
                "input and output of one op overlap"
            );
        }
    }

    #[test]
    fn a_skip_connection_keeps_its_source_alive() {
        // x feeds both the first and the last op: three buffers at the last op.
        let mut g = Graph::default();
        let x = g.act("x", vec![10]);
        g.inputs.push(x);
        let a = relu(&mut g, x, 10, "a");
        let b = relu(&mut g, a, 10, "b");
        let y = g.act("y", vec![10]);
        g.nodes.push(Node {
            name: "add".into(),
            onnx_op: "Add".into(),
            op: Op::Unary(UnaryParams {
                len: 10,
                act: ActParams::IDENTITY,
            }),
            inputs: vec![Some(b), Some(x)],
            outputs: vec![Some(y)],
            scratch: None,
        });
        g.outputs.push(y);
        let p = plan(&g);
        let (ox, ob, oy) = (
            p.offsets[x].unwrap(),
            p.offsets[b].unwrap(),
            p.offsets[y].unwrap(),
        );
        assert!(ox != ob && ox != oy && ob != oy);
        // Three 40-byte tensors in 48-byte aligned slots: the last ends at 96 + 40, rounded to 144.
        assert_eq!(p.arena_bytes, 144);
    }
}
