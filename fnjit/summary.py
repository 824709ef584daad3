"""`model.summary()`: Keras' plain-text table, as the guides print it.

A chain of single-input layers gets the three columns Layer (type), Output Shape, Param #
(65 characters wide); any other graph adds Connected to (100 wide, as the guides print it: Keras
2.0's width, later Keras 2 printed 98), with one line per inbound tensor as
`layer[node][tensor]`.
"""

from __future__ import annotations


def _shape_text(shape):
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _is_chain(model):
    """Keras' `sequential_like` (Keras 2 and 3): the nodes form one path, each taking at most one
    tensor and only the last feeding no other, and no layer is called twice. A layer with
    several outputs (LSTM(return_state=True)) or several model outputs along the path keep it
    a chain; a merge (a residual Add), a branch or a shared layer do not."""
    nodes = model._ordered_nodes()
    for n in nodes:
        if len(n.input_tensors) > 1:
            return False
    feeding = {id(p) for n in nodes for p in n.parent_nodes}
    ends = [n for n in nodes if id(n) not in feeding]
    return ends == nodes[-1:] and len({id(n.layer) for n in nodes}) == len(nodes)


def _row(fields, positions):
    line = ""
    for i, (field, pos) in enumerate(zip(fields, positions)):
        if i:  # a field that fills its column is cut one short: "time_distributed_1 (TimeDistribu"
            line = line[:-1] + " "
        line += str(field)
        line = line[:pos]
        line += " " * (pos - len(line))
    return line.rstrip()


def print_summary(model, line_length=None, positions=None, print_fn=None):
    print_fn = print_fn or print
    chain = _is_chain(model)
    if chain:
        line_length = line_length or 65
        positions = positions or [0.45, 0.85, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
    else:
        line_length = line_length or 100
        positions = positions or [0.33, 0.55, 0.67, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]

    model_nodes = {id(n) for n in model._ordered_nodes()}
    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    print_fn(_row(header, positions))
    print_fn("=" * line_length)
    layers = model.layers
    for i, layer in enumerate(layers):
        nodes = [n for n in layer._inbound_nodes if id(n) in model_nodes]
        # A subclassed model's layers have no nodes: the shape seen when its call was traced.
        shapes = [layer.get_output_shape_at(n.index) for n in nodes] or \
            [getattr(layer, "_traced_shape", None)]
        shape = shapes[0] if all(s == shapes[0] for s in shapes) else "multiple"
        name = f"{layer.name} ({type(layer).__name__})"
        fields = [name, _shape_text(shape) if shape not in (None, "multiple") else
                  (shape or "?"), layer.count_params()]
        if chain:
            print_fn(_row(fields, positions))
        else:
            links = [f"{t._history[0].name}[{t._history[1]}][{t._history[2]}]"
                     for n in nodes for t in n.input_tensors]
            print_fn(_row(fields + [links[0] if links else ""], positions))
            for link in links[1:]:
                print_fn(_row(["", "", "", link], positions))
        print_fn(("=" if i == len(layers) - 1 else "_") * line_length)

    trainable = sum(w.value.size for w in model.trainable_weights)
    non_trainable = sum(w.value.size for w in model.non_trainable_weights)
    print_fn(f"Total params: {trainable + non_trainable:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {non_trainable:,}")
    print_fn("_" * line_length)
