"""The tables PrintLayerInfo and PrintLog print (tabulate's "simple" layout)."""
import io
from collections import OrderedDict

from aenet.lasagne import layers
from aenet.nolearn.handlers import PrintLayerInfo, PrintLog


class Net:
    regression = False
    scores_train = scores_valid = None
    custom_scores = [("f1", None)]


HISTORY = [dict(epoch=12, train_loss=0.00123, valid_loss=2.29871, train_loss_best=True,
                valid_loss_best=True, valid_accuracy=0.11, f1=0.5, dur=0.523)]  # fmt: skip


def test_print_log_lays_out_a_row_under_its_header():
    assert PrintLog().table(Net(), HISTORY).splitlines() == [
        "  epoch    trn loss    val loss    trn/val    valid acc       f1  dur",
        "-------  ----------  ----------  ---------  -----------  -------  -----",
        "     12     0.00123     2.29871    0.00054      0.11000  0.50000  0.52s",
    ]


def test_colours_do_not_change_the_layout():
    log = PrintLog()
    row = log.table(Net(), HISTORY, color=True).splitlines()[-1]
    assert row == "     12     \033[36m0.00123\033[0m     \033[32m2.29871\033[0m    0.00054      0.11000  0.50000  0.52s"
    assert log.table(Net(), HISTORY, color=True).count("\n") == 0  # the header only once


def test_print_layer_info_counts_trainable_parameters_and_lists_layers():
    input_layer = layers.InputLayer((None, 1, 4, 4), name="input")
    hidden = layers.DenseLayer(input_layer, num_units=5, name="hidden")
    output = layers.DenseLayer(hidden, num_units=3, name="output")
    net = type("Built", (), {"layers_": OrderedDict((layer.name, layer) for layer in (input_layer, hidden, output))})
    out = io.StringIO()
    PrintLayerInfo(file=out)(net, [])
    assert out.getvalue().splitlines() == [
        "# Neural Network with 103 learnable parameters",  # 16 * 5 + 5 + 5 * 3 + 3
        "",
        "## Layer information",
        "",
        "  #  name    size",
        "---  ------  ------",
        "  0  input   1x4x4",
        "  1  hidden  5",
        "  2  output  3",
        "",
    ]


def test_print_log_colours_the_best_losses_only_on_a_terminal():
    class Net:
        regression = False
        scores_train = scores_valid = custom_scores = None

    history = [dict(epoch=1, train_loss=0.5, valid_loss=0.25, train_loss_best=True,
                    valid_loss_best=False, valid_accuracy=0.75, dur=1.234)]
    plain = PrintLog().table(Net(), history)
    assert "\033" not in plain
    assert plain.splitlines()[-1].split() == ["1", "0.50000", "0.25000", "2.00000", "0.75000", "1.23s"]
    coloured = PrintLog().table(Net(), history, color=True)
    assert "\033[36m0.50000\033[0m" in coloured and "\033[32m" not in coloured
    assert len(coloured.splitlines()) == 3
    log = PrintLog(file=io.StringIO())
    log(Net(), history)
    log(Net(), history)
    assert len(log.file.getvalue().splitlines()) == 4  # header once
