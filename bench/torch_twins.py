"""The PyTorch side shared by the side-by-side benchmarks (bench/models.py; bench/train.py on the CPU,
bench/gpu.py on a GPU): each zoo architecture's PyTorch twin (the reference definitions of
tests/fixtures/make_*.py, imported on first use: make_vggface2 needs torchvision), insightface's ArcFace
head and egcode's sgd_bn optimiser, the same as bench_train/bench_gpu run in facekit.

Thread discipline: the fixture modules no longer touch torch's global state at import, but a benchmark
still sets its thread count after every import, these lazy ones included: call import_twins(names)
first, then torch.set_num_threads(n), then report torch.get_num_threads()."""
import math, os, sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))


def vgg():
    import make_vggface2
    return make_vggface2


def inc():
    import make_inception_mobilefacenet
    return make_inception_mobilefacenet


def ir():
    import make_ir
    return make_ir


def mtcnn():
    import make_mtcnn_nets
    return make_mtcnn_nets


TORCH = {
    "resnet50_vggface2": lambda: vgg().VGGFace2ResNet(se=False),
    "senet50_vggface2": lambda: vgg().VGGFace2ResNet(se=True),
    "resnet50_torchvision": lambda: vgg().torchvision_resnet50(),
    "inception_resnet_v1": lambda: inc().InceptionResnetV1(),
    "ir_50": lambda: ir().Backbone(112, 50),
    "ir_se_50": lambda: ir().Backbone(112, 50, "ir_se"),
    "ir_101": lambda: ir().Backbone(112, 100),
    "iresnet18": lambda: ir().IResNet(ir().IRESNET_LAYERS["iresnet18"]),
    "iresnet34": lambda: ir().IResNet(ir().IRESNET_LAYERS["iresnet34"]),
    "iresnet50": lambda: ir().IResNet(ir().IRESNET_LAYERS["iresnet50"]),
    "iresnet100": lambda: ir().IResNet(ir().IRESNET_LAYERS["iresnet100"]),
    "mobilefacenet": lambda: inc().MobileFacenet(),
    "pnet": lambda: mtcnn().PNet(),
    "rnet": lambda: mtcnn().RNet(),
    "onet": lambda: mtcnn().ONet(),
}

# the fixture module each twin lives in
_MODULE = {"resnet50_vggface2": vgg, "senet50_vggface2": vgg, "resnet50_torchvision": vgg,
           "inception_resnet_v1": inc, "mobilefacenet": inc, "pnet": mtcnn, "rnet": mtcnn, "onet": mtcnn}


def import_twins(names):
    """Imports the fixture modules that define the twins of `names` (all of TORCH when empty), so
    that nothing is imported after the caller sets its thread count."""
    for name in names or TORCH:
        if name not in TORCH:
            raise KeyError(f"no PyTorch twin for {name} (known: {', '.join(TORCH)})")
        _MODULE.get(name, ir)()


class ArcFace(torch.nn.Module):
    """insightface arcface_torch ArcFace with its weight (layers/heads.h ArcFace, variant "insightface")."""

    def __init__(self, in_features, num_classes, s=64.0, m=0.5):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.normal(0, 0.01, (num_classes, in_features)))
        self.s, self.cos_m, self.sin_m = s, math.cos(m), math.sin(m)
        self.th, self.mm = math.cos(math.pi - m), math.sin(math.pi - m) * m

    def forward(self, x, labels):
        logits = F.linear(F.normalize(x), F.normalize(self.weight))
        index = torch.where(labels != -1)[0]
        target = logits[index, labels[index].view(-1)]
        sin_theta = torch.sqrt(1.0 - torch.pow(target, 2))
        phi = target * self.cos_m - sin_theta * self.sin_m
        phi = torch.where(target > self.th, phi, target - self.mm)
        logits[index, labels[index].view(-1)] = phi  # in place, as insightface
        return logits * self.s


def sgd_bn(model, head):
    """egcode's sgd_bn: [non-BN parameters + head] with weight decay 5e-4, [BN parameters] without."""
    bn = {id(p) for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
          for p in m.parameters()}
    decay = [p for p in model.parameters() if id(p) not in bn] + list(head.parameters())
    no_decay = [p for p in model.parameters() if id(p) in bn]
    return torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0.0}],
                           lr=0.1, momentum=0.9)
